"""What can go wrong with a coverage policy or with the facts it reads."""

from __future__ import annotations

from assay.core.errors import FieldError, InvalidInput


class PolicyError(InvalidInput):
    """A policy text that cannot be used; the detail names the file and the line.

    The detail reads ``"<source>, line <n>: <what is wrong>"`` so an admin can go straight
    to the place to fix; ``line`` is ``None`` only when the fault has no place (a text that
    is not even readable as YAML characters, or a fault across several presets).
    """

    def __init__(self, source: str, line: int | None, message: str) -> None:
        where = source if line is None else f"{source}, line {line}"
        super().__init__(f"{where}: {message}", errors=[FieldError(field=where, message=message)])
        self.source = source
        """The file name or label the text came from."""
        self.line = line
        """The 1-based line of the fault, if it has one."""
        self.message = message
        """The fault without its place."""


class FactError(InvalidInput):
    """A model fact holds a value of the wrong kind (a text where a number belongs, a
    negative compute figure); evaluating on it would give a meaningless outcome."""
