"""People search for pickers (转办, 委派, 加签, 抄送): active people who are members of the given units, matched by
name, employee code, user name or the name of one of those units, ordered by (name, id) with keyset cursors.

The caller decides the scope (the units a dialog may pick from); the search never reaches beyond it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from xietong.directory.models import Membership, Person, Unit
from xietong.pagination import Page, after, check_limit, decode_cursor, encode_cursor, ordered


@dataclass(frozen=True)
class PersonHit:
    id: int
    name: str
    employee_code: str
    units: list[str] = field(default_factory=list)  # the names of the scope's units they belong to


def search_people(
    session: Session,
    *,
    unit_ids: Collection[int],
    keyword: str = "",
    limit: int = 30,
    cursor: str | None = None,
    exclude_id: int | None = None,
    only_ids: Collection[int] | None = None,
) -> Page[PersonHit]:
    """One page of the people in ``unit_ids`` matching ``keyword`` (all of them when blank)."""
    check_limit(limit)
    if not unit_ids:
        return Page(items=[])
    in_scope = exists().where(Membership.person_id == Person.id, Membership.unit_id.in_(list(unit_ids)))
    query = select(Person.id, Person.name, Person.employee_code).where(Person.active.is_(True), in_scope)
    keyword = keyword.strip()
    if keyword:
        unit_match = exists().where(
            Membership.person_id == Person.id, Membership.unit_id.in_(list(unit_ids)), Unit.id == Membership.unit_id,
            Unit.name.contains(keyword, autoescape=True),
        )
        query = query.where(or_(
            *(column.contains(keyword, autoescape=True) for column in (Person.name, Person.employee_code,
                                                                       Person.username)),
            unit_match,
        ))
    if exclude_id is not None:
        query = query.where(Person.id != exclude_id)
    if only_ids is not None:
        query = query.where(Person.id.in_(list(only_ids)))
    if cursor:
        query = query.where(after(Person.name, Person.id, decode_cursor(cursor, (str, int)), descending=False))
    rows = session.execute(ordered(query, Person.name, Person.id, descending=False).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    units = _unit_names(session, [row.id for row in rows], unit_ids)
    items = [PersonHit(row.id, row.name, row.employee_code, units.get(row.id, [])) for row in rows]
    next_cursor = encode_cursor((rows[-1].name, rows[-1].id)) if more else None
    return Page(items=items, next_cursor=next_cursor)


def _unit_names(session: Session, person_ids: list[int], unit_ids: Collection[int]) -> dict[int, list[str]]:
    if not person_ids:
        return {}
    found: dict[int, list[str]] = {}
    query = (
        select(Membership.person_id, Unit.name)
        .join(Unit, Unit.id == Membership.unit_id)
        .where(Membership.person_id.in_(person_ids), Membership.unit_id.in_(list(unit_ids)))
        .order_by(Membership.person_id, Membership.is_primary.desc(), Unit.name)
    )
    for person_id, unit_name in session.execute(query):
        names = found.setdefault(person_id, [])
        if unit_name not in names:
            names.append(unit_name)
    return found
