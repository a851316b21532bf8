"""The hot path's statements sent straight to the DBAPI cursor, compiled once per dialect and shape.

SQLAlchemy spends 40–50 µs of Python on each execution (execution context, parameter and result
processing set-up, events) where the statement itself takes a few. This module compiles a Core
statement once per (dialect, parameter keys) to its SQL text, the order of its parameters and
their type processors, then runs it on the caller's connection and transaction with
``cursor.execute``/``executemany``. Statement listeners still hear every statement: the
connection's ``before_cursor_execute`` listeners are called as SQLAlchemy would call them.

Anything this cannot send exactly as SQLAlchemy would (expanding IN lists, column defaults
computed by a Python function, escaped parameter names, multi-row INSERT … RETURNING) is handed to
``Connection.execute`` unchanged; so is a connection with a non-default execution option. A
constant column default is bound as the constant, as SQLAlchemy would; an INSERT's ``lastrowid``
is not fetched (callers that need a new id use RETURNING).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Row = dict[str, Any]
_MISSING = object()


@dataclass(frozen=True)
class Prepared:
    """One statement compiled for one dialect and one set of parameter keys."""

    sql: str
    # per parameter (in the order the driver wants): (name, constant or _MISSING, bind processor or None)
    params: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    positional: bool
    keys: tuple[str, ...]  # result column names, () for a statement returning no rows
    processors: tuple[Callable[[Any], Any] | None, ...]


_prepared: dict[tuple[Any, str, tuple[str, ...], bool], Prepared | None] = {}


def _prepare(statement: Any, dialect: Dialect, keys: tuple[str, ...], many: bool) -> Prepared | None:
    """Compile ``statement``; None when it must go through SQLAlchemy."""
    if many and getattr(statement, "_returning", ()):
        return None  # SQLAlchemy batches these ("insertmanyvalues"); a plain executemany cannot return rows
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=many)
    defaults = _constant_defaults(compiled)
    if (
        defaults is None
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
    ):
        return None
    processors = compiled._bind_processors
    names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
    params = []
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding:
            return None
        if name in defaults:
            constant = defaults[name]
        else:
            constant = _MISSING if name in keys else bind.effective_value
            if constant is None and bind.required:
                constant = _MISSING
        params.append((name, constant, processors.get(name)))
    result_processors = []
    for column in compiled._result_columns:
        result_processors.append(column.type._cached_result_processor(dialect, None))
    return Prepared(
        sql=compiled.string,
        params=tuple(params),
        positional=bool(compiled.positional),
        keys=tuple(c.keyname for c in compiled._result_columns),
        processors=tuple(result_processors),
    )


def _constant_defaults(compiled: Any) -> dict[str, Any] | None:
    """The columns whose Python-side default SQLAlchemy would fill in, by bind name; None if one is not a constant."""
    defaults = {}
    for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
        default = column.default if column in compiled.insert_prefetch else column.onupdate
        if default is None or not default.is_scalar:
            return None
        defaults[column.key] = default.arg
    return defaults


def _bind(prepared: Prepared, row: Mapping[str, Any]) -> Any:
    values = []
    for name, constant, process in prepared.params:
        value = row[name] if constant is _MISSING else constant
        values.append(process(value) if process is not None and value is not None else value)
    if prepared.positional:
        return tuple(values)
    return dict(zip((p[0] for p in prepared.params), values, strict=True))


def _dispatch(conn: Connection, cursor: Any, sql: str, parameters: Any, many: bool) -> None:
    """Call the ``before_cursor_execute`` listeners, as SQLAlchemy does before each statement."""
    if conn._has_events or conn.engine._has_events:
        listeners = conn.dispatch.before_cursor_execute
        if listeners:  # an engine with only other listeners (e.g. "begin") has none to call
            listeners(conn, cursor, sql, parameters, None, many)


class Result:
    """What a statement gave back: its rows as dicts (``rows``) and the row count."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def tuples(self) -> list[tuple[Any, ...]]:
        return [tuple(r.values()) for r in self.rows]

    def scalar(self) -> Any:
        return next(iter(self.rows[0].values())) if self.rows else None

    def scalars(self) -> list[Any]:
        return [next(iter(r.values())) for r in self.rows]

    def scalar_one(self) -> Any:
        if len(self.rows) != 1:
            raise ValueError(f"expected one row, got {len(self.rows)}")
        return next(iter(self.rows[0].values()))


def _wrapped(result: Any) -> Result:
    """A SQLAlchemy result in the shape of ``Result``."""
    rows = [dict(r) for r in result.mappings()] if result.returns_rows else []
    return Result(rows, result.rowcount)


def execute(conn: Connection, statement: Any, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Result:
    """Run ``statement`` with one row of parameters (a mapping) or several (a list: executemany)."""
    many = not isinstance(params, Mapping)
    rows: Sequence[Mapping[str, Any]] = params if many else [params]  # type: ignore[assignment,list-item]
    if many and len(rows) == 1:
        many, params = False, rows[0]
    dialect = conn.dialect
    key = (statement, dialect.name, tuple(rows[0]), many)
    prepared = _prepared.get(key, _MISSING)
    if prepared is _MISSING:
        prepared = _prepared[key] = _prepare(statement, dialect, key[2], many)
    if prepared is None or "schema_translate_map" in conn._execution_options:
        return _wrapped(conn.execute(statement, params))
    assert isinstance(prepared, Prepared)
    parameters: Any = [_bind(prepared, r) for r in rows] if many else _bind(prepared, rows[0])
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        _dispatch(conn, cursor, prepared.sql, parameters, many)
        try:
            if many:
                cursor.executemany(prepared.sql, parameters)
            else:
                cursor.execute(prepared.sql, parameters)
            fetched = cursor.fetchall() if prepared.keys and cursor.description is not None else []
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                prepared.sql, parameters, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        out = []
        keys, processors = prepared.keys, prepared.processors
        for raw in fetched:
            out.append(
                {
                    k: (p(v) if p is not None else v)
                    for k, p, v in zip(keys, processors, raw, strict=True)
                }
            )
        return Result(out, cursor.rowcount)
    finally:
        cursor.close()
