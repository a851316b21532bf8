"""The closing writes of an operation: scope changes, new party, timer, outbox and event rows, the case row.

On PostgreSQL they travel as one statement — the inserts as data-modifying CTEs in front of the
``UPDATE case`` — because round trips, not work, dominate an operation there. SQLite runs in the
process, so it gets the same statements one by one. Either way each statement is built once per
shape (which tables, how many rows, which case columns) and then comes from the compiled cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from xietong.cases.models import Case, CaseParty, Event
from xietong.db import fastpath
from xietong.engine.store import SCOPE_CHANGES, scope_update
from xietong.worker.models import OutboxMessage, Timer

CASE = Case.__table__
TABLES: dict[str, Table] = {
    kind: cast(Table, model.__table__)
    for kind, model in (("party", CaseParty), ("timer", Timer), ("outbox", OutboxMessage), ("event", Event))
}
# (kind, rows): a kind of TABLES inserts its rows; "scope" updates existing scopes (``id`` and
# SCOPE_CHANGES), one statement per row on PostgreSQL, one executemany elsewhere.
Inserts = Sequence[tuple[str, Sequence[Mapping[str, Any]]]]
_SCOPE_UPDATE = scope_update("b_")


def _insert(dialect: Any, kind: str) -> Any:
    stmt = dialect.insert(TABLES[kind])
    if kind == "party":  # a unit already taking part stays one row
        stmt = stmt.on_conflict_do_nothing(index_elements=["case_id", "unit_id"])
    return stmt


_SEPARATE = {kind: _insert(sqlite, kind) for kind in TABLES}


@lru_cache(maxsize=64)
def _update_case(columns: tuple[str, ...]) -> Any:
    """``UPDATE case SET <columns> WHERE id = :b_case_id``, built once per set of columns."""
    return update(CASE).where(CASE.c.id == bindparam("b_case_id")).values({c: bindparam(f"v_{c}") for c in columns})


def _case_params(case_id: int, values: Mapping[str, Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    params = {f"v_{c}": v for c, v in values.items()}
    params["b_case_id"] = case_id
    return tuple(sorted(values)), params


def update_case(conn: Connection, case_id: int, values: Mapping[str, Any]) -> None:
    """Write ``values`` to the case row."""
    columns, params = _case_params(case_id, values)
    fastpath.execute(conn, _update_case(columns), params)


Shape = tuple[tuple[tuple[str, int, tuple[str, ...]], ...], tuple[str, ...]]


@lru_cache(maxsize=256)
def _combined(shape: Shape) -> Any:
    """``WITH w0 AS (INSERT …), w1 AS (INSERT …) UPDATE case …`` for one shape of writes."""
    inserts, columns = shape
    stmt = _update_case(columns)
    for i, (kind, n_rows, keys) in enumerate(inserts):
        if kind == "scope":
            for r in range(n_rows):
                stmt = stmt.add_cte(scope_update(f"i{i}r{r}_").cte(f"w{i}_{r}"))
            continue
        table = TABLES[kind]
        for r in range(n_rows):  # one single-row INSERT per row: a multi-row VALUES is never cached
            row = {key: bindparam(f"i{i}r{r}c{j}", type_=table.c[key].type) for j, key in enumerate(keys)}
            stmt = stmt.add_cte(_insert(postgresql, kind).values(row).cte(f"w{i}_{r}"))
    return stmt


def write_closing(conn: Connection, case_id: int, case_values: Mapping[str, Any], inserts: Inserts) -> None:
    """Write ``inserts`` (in order) and update the case row: one statement on PostgreSQL."""
    inserts = [(kind, rows) for kind, rows in inserts if rows]
    if conn.dialect.name != "postgresql":
        for kind, rows in inserts:
            statement = _SEPARATE.get(kind, _SCOPE_UPDATE)
            if kind == "scope":
                rows = [{f"b_{k}": row[k] for k in ("id", *SCOPE_CHANGES)} for row in rows]
            fastpath.execute(conn, statement, list(rows) if len(rows) > 1 else rows[0])
        update_case(conn, case_id, case_values)
        return
    columns, params = _case_params(case_id, case_values)
    shape = []
    for i, (kind, rows) in enumerate(inserts):
        keys = tuple(rows[0])
        shape.append((kind, len(rows), keys))
        for r, row in enumerate(rows):
            if kind == "scope":
                params.update({f"i{i}r{r}_{k}": row[k] for k in ("id", *SCOPE_CHANGES)})
                continue
            for j, key in enumerate(keys):
                params[f"i{i}r{r}c{j}"] = row[key]
    fastpath.execute(conn, _combined((tuple(shape), columns)), params)

