"""Batched Core inserts for the demo loader: ids handed out in memory, one driver call per batch.

The generator needs every id before it writes (a task names its scope, an event delta names its
tasks), so ids are handed out in memory after the table's current maximum. Batches are written
parents first, so foreign keys hold on SQLite and PostgreSQL without deferring them.

On SQLite each table's ``insert()`` is compiled once, the column types' own bind processors (UTC
timestamps, JSON) are applied to the values and the batch goes to the driver's ``executemany`` in
one call: letting SQLAlchemy build the parameters of every row costs more than the whole database
write (measured: ~30 µs a row, 800,000 rows). On PostgreSQL a batch is sent with ``COPY … FROM
STDIN`` (as DESIGN.md allows for bulk demo data) in its text form, where the server parses every
field by its column's type: timestamps go as ISO 8601 text in UTC, JSON as its text. Afterwards the
PostgreSQL serial sequences are moved past the ids used, so later inserts get fresh ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, Table, func, insert, select, text

from xietong.db.base import Base, UTCDateTime


def _remembering(processor: Callable[[Any], Any], memo: dict[Any, Any]) -> Callable[[Any], Any]:
    """The processor with its results remembered: the same instants recur across events, tasks and timers."""

    def process(value: Any) -> Any:
        found = memo.get(value)
        if found is None:
            found = memo[value] = processor(value)
        return found

    return process


def _copy_text(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """How a value of ``type_`` goes into COPY's text form (None: psycopg writes it as it is)."""
    if isinstance(type_, UTCDateTime):
        return lambda value: type_.process_bind_param(value, dialect).isoformat()  # type: ignore[union-attr]
    if isinstance(type_.dialect_impl(dialect), JSON):
        return json.dumps
    return None


class PreparedInsert:
    """One table's compiled insert and the bind processors of its columns."""

    def __init__(self, table: Table, conn: Connection, instants: dict[Any, Any]) -> None:
        dialect = conn.dialect
        self.table = table
        self.columns = [c.key for c in table.c]
        self.processors: list[tuple[int, Callable[[Any], Any]]] = []
        self.copy = dialect.name == "postgresql"
        for i, column in enumerate(table.c):
            bind = (
                _copy_text(column.type, dialect)
                if self.copy
                else column.type.dialect_impl(dialect).bind_processor(dialect)
            )
            if bind is not None:
                remember = isinstance(column.type, UTCDateTime)
                self.processors.append((i, _remembering(bind, instants) if remember else bind))
        names = ", ".join(f'"{c}"' for c in self.columns)
        if self.copy:
            self.sql = f'COPY "{table.name}" ({names}) FROM STDIN'
        else:
            compiled = insert(table).compile(conn, column_keys=self.columns)
            assert list(compiled.positiontup or ()) == self.columns, "expected positional parameters in column order"
            self.sql = str(compiled)

    def values(self, rows: list[dict[str, Any]]) -> list[list[Any]]:
        """Rows as lists in column order, every value bound; a missing column is an error, not a NULL."""
        columns, processors = self.columns, self.processors
        result = []
        for row in rows:
            values = [row[c] for c in columns]
            for i, processor in processors:
                if values[i] is not None:
                    values[i] = processor(values[i])
            result.append(values)
        return result

    def write(self, conn: Connection, values: list[list[Any]]) -> None:
        """Write bound rows (from :meth:`values`) in one driver call."""
        if not self.copy:
            conn.exec_driver_sql(self.sql, [tuple(v) for v in values])
            return
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(self.sql) as copy:
            for row in values:
                copy.write_row(row)


class BulkWriter:
    """Hands out ids and writes batches of rows, each table through its :class:`PreparedInsert`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tables: dict[str, Table] = dict(Base.metadata.tables)
        self._statements: dict[str, PreparedInsert] = {}
        self._instants: dict[Any, Any] = {}  # bound timestamps, shared by every table
        self._next: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def next_id(self, table: str) -> int:
        """A fresh primary key for ``table`` (after whatever the table already holds)."""
        value = self.first_free(table)
        self._next[table] = value + 1
        return value

    def statement(self, table: str) -> PreparedInsert:
        """The table's prepared insert (its ``values`` may be computed anywhere, even in another process)."""
        statement = self._statements.get(table)
        if statement is None:
            statement = self._statements[table] = PreparedInsert(self.tables[table], self.conn, self._instants)
        return statement

    def insert_now(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Write rows at once (reference tables whose ids later rows need to exist)."""
        if rows:
            self.write_values(table, self.statement(table).values(rows))

    def write_values(self, table: str, values: list[list[Any]]) -> None:
        """Write rows already bound by the table's statement."""
        if values:
            self.statement(table).write(self.conn, values)
            self.counts[table] = self.counts.get(table, 0) + len(values)

    def first_free(self, table: str) -> int:
        """The first id after those the table holds (without handing it out)."""
        value = self._next.get(table)
        if value is None:
            column = self.tables[table].c.id
            value = self._next[table] = (
                int(self.conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1
            )
        return value

    def fix_sequences(self) -> None:
        """PostgreSQL: move the serial sequence of every table written here past its largest id."""
        if self.conn.dialect.name != "postgresql":
            return
        for table in self.counts:
            if "id" not in self.tables[table].c or table == "credential":
                continue
            self.conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))")
            )
