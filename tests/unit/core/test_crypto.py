"""Secrets at rest: encryption, key rotation, and clear errors."""

from __future__ import annotations

import pytest

from assay.core.crypto import SecretBox, signing_key
from assay.core.errors import ConfigError

OLD = "old-secret-key-0123456789abcdefghijklmnop"
NEW = "new-secret-key-0123456789abcdefghijklmnop"


def test_encrypt_decrypt_round_trip_and_no_plaintext() -> None:
    box = SecretBox(NEW)
    token = box.encrypt("sk-live-abc123")
    assert b"sk-live-abc123" not in token
    assert box.decrypt(token) == "sk-live-abc123"


def test_rotation_re_encrypts_under_the_new_key() -> None:
    stored = SecretBox(OLD).encrypt("model-api-key")
    during = SecretBox(NEW, [OLD])
    assert during.decrypt(stored) == "model-api-key"
    rotated = during.rotate(stored)
    assert SecretBox(NEW).decrypt(rotated) == "model-api-key"
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        SecretBox(NEW).decrypt(stored)


def test_short_secret_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="ASSAY_SECRET_KEY"):
        SecretBox("short")


def test_signing_and_encryption_keys_differ() -> None:
    assert signing_key(NEW) != signing_key(OLD)
