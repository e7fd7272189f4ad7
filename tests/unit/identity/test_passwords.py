"""Passwords are hashed with argon2id at the library's recommended cost (RFC 9106)."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from assay.identity import passwords


def test_production_hasher_is_argon2id_at_the_recommended_cost() -> None:
    # Tests swap in a cheap hasher (conftest); this checks the module's own one.
    import importlib

    fresh = importlib.reload(passwords)
    digest = fresh._HASHER.hash("a long enough password")
    params = extract_parameters(digest)
    assert digest.startswith("$argon2id$")
    assert params.memory_cost >= RFC_9106_LOW_MEMORY.memory_cost
    assert params.time_cost >= RFC_9106_LOW_MEMORY.time_cost
    assert isinstance(fresh._HASHER, PasswordHasher)
