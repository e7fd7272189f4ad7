"""One settings object for the whole platform.

Values come, highest first, from keyword arguments, ``ASSAY_*`` environment variables,
the TOML file named by ``ASSAY_CONFIG_FILE``, and the defaults here. Every field is listed
in ``docs/configuration.md``; a test fails when one is not.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from assay.core.errors import ConfigError

SECRET_KEY_FILE = "secret.key"
CONFIG_FILE_ENV = "ASSAY_CONFIG_FILE"


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads the optional TOML file, naming the file and the fault when it is unreadable."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._values = _read_toml(os.environ.get(CONFIG_FILE_ENV))

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def _read_toml(path_text: str | None) -> dict[str, Any]:
    if not path_text:
        return {}
    path = Path(path_text)
    if not path.is_file():
        raise ConfigError(f"{CONFIG_FILE_ENV}: the config file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{CONFIG_FILE_ENV}: {path} is not valid TOML: {exc}") from exc
    section = data.get("assay", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{CONFIG_FILE_ENV}: [assay] in {path} must be a table")
    known = set(Settings.model_fields)
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; see docs/configuration.md")
    return section


class Settings(BaseSettings):
    """Every setting of an Assay instance."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_", extra="forbid", frozen=True)

    data_dir: Path = Field(default=Path("assay-data"), description="Folder for all local state.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: SQLite at DATA_DIR/assay.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs sessions and derives the encryption key. Default: DATA_DIR/secret.key.",
    )
    previous_secret_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Older secret keys, still accepted for decryption during a key rotation.",
    )
    blob_dir: Path | None = Field(
        default=None, description="Content-addressed blob store. Default: DATA_DIR/blobs."
    )
    job_backend: Literal["sqlite", "redis", "memory"] = Field(
        default="sqlite",
        description="Queue storage: sqlite (DATA_DIR/queue.db), redis (REDIS_URL), "
        "memory (in-process, for tests).",
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis for the queue.")
    worker_threads: int = Field(default=2, ge=1, description="Consumer threads per worker.")
    embedded_worker: bool = Field(
        default=True, description="`assay serve` also runs a job consumer in its own process."
    )
    job_lease_seconds: float = Field(
        default=60.0, gt=0, description="How long a running job's lease lasts between heartbeats."
    )
    job_reaper_interval_seconds: float = Field(
        default=15.0, gt=0, description="How often a worker looks for jobs whose lease expired."
    )
    job_max_attempts: int = Field(default=5, ge=1, description="Attempts before a job fails.")
    host: str = Field(default="127.0.0.1", description="Address `assay serve` binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `assay serve` binds.")
    public_url: str | None = Field(
        default=None,
        description="The URL users reach this instance at; gateway base URLs are built on it. "
        "Default: http://HOST:PORT.",
    )
    eval_gateway_url: str | None = Field(
        default=None,
        description="The gateway's base URL as eval runs reach it (an OpenAI-compatible /v1). "
        "Default: PUBLIC_URL/gateway/v1.",
    )
    eval_allow_task_files: bool = Field(
        default=False,
        description="Let agencies upload Inspect task files with a run. A task file is Python "
        "that the worker imports with the worker's rights: turn this on only where workers run "
        "isolated from the instance's secrets.",
    )
    eval_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        description="How often a running eval saves progress and checks for a cancel or the "
        "window's close.",
    )
    window_sweep_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often a worker records the close of review windows."
    )
    intake_max_bytes: int = Field(
        default=2 * 1024**3, gt=0, description="Largest file the clearinghouse takes in."
    )
    near_duplicate_threshold: float = Field(
        default=0.8, gt=0, le=1, description="Text similarity at which a finding joins a cluster."
    )
    near_duplicate_band: float = Field(
        default=0.15,
        ge=0,
        lt=1,
        description="Below the threshold by at most this much: flagged a possible duplicate.",
    )
    session_max_age_seconds: int = Field(
        default=8 * 3600, gt=0, description="Lifetime of a web session cookie."
    )
    secure_cookies: bool = Field(
        default=False, description="Mark cookies Secure; set it when served over HTTPS."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins allowed per account in the window."
    )
    login_window_seconds: int = Field(
        default=900, gt=0, description="The window for counting failed logins."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Level of the structured (JSON) logs."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFileSource(settings_cls))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assay.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_eval_gateway_url(self) -> str:
        return (self.eval_gateway_url or f"{self.resolved_public_url}/gateway/v1").rstrip("/")

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / SECRET_KEY_FILE

    def require_secret_key(self) -> str:
        """The secret key; refuses to go on without one, naming the fix."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.secret_key_file.is_file():
            key = self.secret_key_file.read_text(encoding="utf-8").strip()
            if key:
                return key
        raise ConfigError(
            f"ASSAY_SECRET_KEY: no secret key is set and {self.secret_key_file} does not exist; "
            "run `assay init` or set ASSAY_SECRET_KEY"
        )


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning a validation failure into a ConfigError that names the field."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"ASSAY_{name.upper()}: {first['msg']}") from exc


def write_secret_key(settings: Settings) -> Path:
    """Create the secret key file (mode 0600) if it does not exist yet; return its path."""
    path = settings.secret_key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
    return path
