"""Secrets at rest and the keys derived from the instance secret.

The instance secret key never encrypts anything itself: HKDF derives one key for
encryption (Fernet: AES-128-CBC with HMAC-SHA256) and one for signing web sessions. To
rotate, set a new ``ASSAY_SECRET_KEY``, move the old one into ``ASSAY_PREVIOUS_SECRET_KEYS``,
and run ``assay keys rotate``, which re-encrypts every stored secret under the new key;
then drop the old key. See docs/security-model.md.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from assay.core.errors import ConfigError

_ENCRYPTION_INFO = b"assay/secrets-at-rest/v1"
_SIGNING_INFO = b"assay/session-signing/v1"


def derive_key(secret_key: str, info: bytes) -> bytes:
    if len(secret_key) < 32:
        raise ConfigError("ASSAY_SECRET_KEY: must be at least 32 characters of random text")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        secret_key.encode("utf-8")
    )


def signing_key(secret_key: str) -> str:
    """The key that signs session cookies."""
    return base64.urlsafe_b64encode(derive_key(secret_key, _SIGNING_INFO)).decode("ascii")


class SecretBox:
    """Encrypts with the current key; decrypts with the current or any previous key."""

    def __init__(self, secret_key: str, previous_keys: list[str] | None = None) -> None:
        keys = [secret_key, *(previous_keys or [])]
        self._fernet = MultiFernet(
            [Fernet(base64.urlsafe_b64encode(derive_key(k, _ENCRYPTION_INFO))) for k in keys]
        )

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                "ASSAY_SECRET_KEY: a stored secret cannot be decrypted with the configured keys; "
                "was an old key dropped before `assay keys rotate` ran?"
            ) from None

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt under the current key (a no-op for the plaintext)."""
        try:
            return self._fernet.rotate(ciphertext)
        except InvalidToken:
            raise ConfigError(
                "ASSAY_SECRET_KEY: a stored secret cannot be decrypted with the configured keys"
            ) from None
