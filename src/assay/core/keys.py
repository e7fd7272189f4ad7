"""Re-encrypting every stored secret under the current key, the third step of a rotation.

The columns that hold secrets are listed once, in ``assay.domains.ENCRYPTED_COLUMNS``.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from assay.core.audit import record_event
from assay.core.authz import Actor, Permission, authorize
from assay.core.clock import Clock
from assay.core.crypto import SecretBox


class KeyEvent(StrEnum):
    ROTATED = "core:keys:rotated"


def rotate_secrets(
    session: Session,
    *,
    actor: Actor,
    clock: Clock,
    box: SecretBox,
    columns: list[InstrumentedAttribute[bytes | None]],
) -> int:
    """Re-encrypt each non-empty value of ``columns``; returns how many were rewritten.

    It runs in the caller's transaction, so a value that no configured key can decrypt
    stops the whole rotation and changes nothing."""
    authorize(actor, Permission.KEYS_ROTATE)
    rewritten = 0
    for column in columns:
        entity = column.class_
        for row in session.scalars(select(entity).where(column.is_not(None))):
            setattr(row, column.key, box.rotate(getattr(row, column.key)))
            rewritten += 1
    record_event(
        session,
        clock=clock,
        actor=actor,
        action=KeyEvent.ROTATED,
        object_type="instance",
        object_id="secrets",
        details={"rewritten": rewritten, "columns": [str(c) for c in columns]},
    )
    return rewritten
