"""Audit event tags of the frontier-review domain."""

from enum import StrEnum


class FrontierEvent(StrEnum):
    MODEL_REGISTERED = "frontier:model:registered"
    MODEL_UPDATED = "frontier:model:updated"
    MODEL_KEY_REPLACED = "frontier:model:key_replaced"
    POLICY_ADDED = "frontier:policy:added"
    DETERMINATION_MADE = "frontier:determination:made"
    DETERMINATION_REVIEWED = "frontier:determination:reviewed"
    AGREEMENT_PROPOSED = "frontier:agreement:proposed"
    AGREEMENT_ACCEPTED = "frontier:agreement:accepted"
    AGREEMENT_DECLINED = "frontier:agreement:declined"
    AGREEMENT_ACTIVATED = "frontier:agreement:activated"
    AGREEMENT_TERMINATED = "frontier:agreement:terminated"
    WINDOW_OPENED = "frontier:window:opened"
    WINDOW_CLOSE_REQUESTED = "frontier:window:close_requested"
    WINDOW_CLOSED = "frontier:window:closed"
    WINDOW_SHORTENED = "frontier:window:shortened"
    GATEWAY_TOKEN_ISSUED = "frontier:gateway_token:issued"
    GATEWAY_REFUSED = "frontier:gateway:refused"
    FINDING_RECORDED = "frontier:finding:recorded"
    FINDING_RESPONDED = "frontier:finding:responded"
