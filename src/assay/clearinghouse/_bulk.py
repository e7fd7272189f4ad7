"""Bulk inserts for intake: rows as tuples, written with each driver's fastest bulk path.

SQLAlchemy Core's executemany turns every row dict into parameters column by column (about
15 microseconds a finding row here, more than SQLite takes to store it). Intake writes
hundreds of thousands of rows in one transaction whose columns are mostly the same for
every row (the submission, the reporter, the time), so a `BulkTable` encodes those once,
encodes the others with SQLAlchemy's own bind processors (so the stored values are exactly
what the ORM writes and reads), remembering the encodings of values that repeat (CWE
lists, levels), and hands plain tuples to the driver: ``executemany`` on SQLite, ``COPY``
on PostgreSQL (psycopg's executemany costs about 25 microseconds a row there; COPY a few).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert

Encoder = Callable[[Any], Any]
_MEMO_LIMIT = 10_000


class BulkTable:
    """Inserts into `table` of rows that give the `varying` columns, in that order; the
    other columns take the `constants`. Every column must be one or the other, so that no
    Python-side default is silently skipped."""

    def __init__(
        self,
        connection: Connection,
        table: Table,
        *,
        constants: Mapping[str, Any],
        varying: Sequence[str],
        repeating: frozenset[str] = frozenset(),
    ) -> None:
        columns = {column.key: column for column in table.c}
        given = [*constants, *varying]
        if sorted(given) != sorted(columns):
            missing = sorted(set(columns) - set(given))
            extra = sorted(set(given) - set(columns))
            raise ValueError(f"{table.name}: columns missing {missing}, unknown {extra}")
        self._connection = connection
        self._table = table
        self._names = given
        dialect = connection.dialect
        self._copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        paramstyle = dialect.paramstyle
        self._driver_sql: str | None = None
        if paramstyle in ("qmark", "format", "pyformat"):
            mark = "?" if paramstyle == "qmark" else "%s"
            quote = dialect.identifier_preparer.quote
            names = ", ".join(quote(name) for name in given)
            # Identifiers from the table's own metadata, quoted; every value is bound.
            self._driver_sql = (
                f"INSERT INTO {quote(table.name)} ({names}) "  # noqa: S608
                f"VALUES ({', '.join(mark for _ in given)})"
            )
            self._copy_sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"

        def processor(name: str) -> Encoder | None:
            column_type = columns[name].type
            found: Encoder | None = column_type.dialect_impl(dialect).bind_processor(dialect)
            return found

        self._prefix = tuple(
            (encode(value) if (encode := processor(name)) is not None else value)
            for name, value in constants.items()
        )
        self._encoders: list[tuple[int, Encoder]] = []
        for position, name in enumerate(varying):
            encode = processor(name)
            if encode is not None:
                if name in repeating:
                    encode = _remembering(encode)
                self._encoders.append((position, encode))

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        prefix, encoders = self._prefix, self._encoders
        if encoders:
            params = []
            for row in rows:
                values = list(row)
                for position, encode in encoders:
                    values[position] = encode(values[position])
                params.append(prefix + tuple(values))
        else:
            params = [prefix + row for row in rows]
        if self._driver_sql is None:
            # A driver with another parameter style: Core, with the encoded values.
            self._connection.execute(
                insert(self._table), [dict(zip(self._names, row, strict=True)) for row in params]
            )
        elif self._copy:
            raw: Any = self._connection.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(self._copy_sql) as copy:
                for row in params:
                    copy.write_row(row)
        else:
            self._connection.exec_driver_sql(self._driver_sql, params)


def _remembering(encode: Encoder) -> Encoder:
    # Values such as ("CWE-89",) or a merge level repeat in most rows: encode each once.
    memo: dict[Hashable, Any] = {}
    get = memo.get

    def remembered(value: Any) -> Any:
        try:
            found = get(value)
        except TypeError:  # unhashable: encode every time
            return encode(value)
        if found is None:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            found = memo[value] = encode(value)
        return found

    return remembered
