"""Running a built-in suite with Inspect against the stand-in and its suites policy, over real
HTTP on loopback, with nothing allowed off this machine.

Inspect reaches the stand-in through its ``openai-api`` provider, as an eval run reaches a
model through the gateway. The stand-in returns ``usage`` with every reply, so Inspect never
counts tokens itself (its tiktoken would download an encoding).
"""

from __future__ import annotations

import gc
import math
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog
from inspect_ai.model import get_model

from assay.evals.standin_policy import suites_responder
from assay.frontier.standin import StandinConfig, StandinServer

KEY = "sk-standin-suites-test-5c7d"
MODEL = "openai-api/standin/assay-stand-in"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

# inspect_ai's dependencies warn about their own deprecations, and its runner leaves anyio
# memory streams for the garbage collector, which warns; neither is this code's to fix.
FILTERS = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def only_loopback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Refuse every name lookup and connection that is not to loopback; no proxies; Inspect's
    data directory in ``tmp_path``."""
    real_lookup = socket.getaddrinfo
    real_connect = socket.socket.connect

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            raise AssertionError(f"network lookup attempted: {host}")
        return real_lookup(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            raise AssertionError(f"network connection attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket.socket, "connect", connect)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@contextmanager
def policy_standin() -> Iterator[StandinServer]:
    """The stand-in on a free loopback port, answering with the suites policy."""
    with StandinServer(StandinConfig(api_key=KEY, responder=suites_responder())) as server:
        yield server


def run(task: Task, server: StandinServer, log_dir: Path, **options: Any) -> EvalLog:
    """``task`` evaluated on the stand-in at ``server``; the one log, checked successful."""
    model = get_model(MODEL, base_url=server.base_url, api_key=KEY)
    [log] = inspect_eval(
        task,
        model=model,
        log_dir=str(log_dir),
        log_format="json",
        display="none",
        **options,
    )
    gc.collect()  # the runner's leftover streams warn now, under the callers' filters
    assert log.status == "success", log.error
    return log


def metrics(log: EvalLog, scorer: int = 0) -> dict[str, float]:
    """The metrics of the log's ``scorer``-th scorer, by name."""
    assert log.results is not None
    return {name: float(m.value) for name, m in log.results.scores[scorer].metrics.items()}


def strictly_between_0_and_1(value: float) -> bool:
    """Whether ``value`` is a proper fraction: the policy is neither always right nor wrong."""
    return not math.isnan(value) and 0.0 < value < 1.0
