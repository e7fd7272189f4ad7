"""Where a login may send the browser next."""

from __future__ import annotations

import pytest

from assay.web.session import safe_next


@pytest.mark.parametrize(
    "value",
    ["/", "/admin/users", "/admin/users?offset=50", "/a/b#frag"],
)
def test_local_paths_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "admin",
        "https://evil.example/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_anything_else_goes_home(value: str | None) -> None:
    assert safe_next(value) == "/"
