"""People search for pickers: scoped to the given units, matched by name, employee code, user name or unit,
active people only, keyset pages that neither skip nor repeat anyone."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.factories import make_city
from xietong.directory.service import search_people


def test_search_stays_in_its_units_and_matches_name_code_and_unit(session: Session) -> None:
    city, other = make_city(session, holders=3), make_city(session, holders=3)
    finance, office = city.units["finance"], city.units["office"]
    everyone = search_people(session, unit_ids=[finance.id], limit=200).items
    assert {p.id for p in everyone} == {p.id for k, p in city.people.items() if k.startswith("finance.")}
    assert all(p.units == [finance.name] for p in everyone)
    clerk = city.people["finance.clerk.1"]
    by_code = search_people(session, unit_ids=[finance.id], keyword=clerk.employee_code).items
    assert [p.id for p in by_code] == [clerk.id]
    by_name = search_people(session, unit_ids=[finance.id, office.id], keyword=clerk.name).items
    assert clerk.id in {p.id for p in by_name}
    by_unit = search_people(session, unit_ids=[finance.id, office.id], keyword=office.short_name).items
    assert {p.id for p in by_unit} == {p.id for k, p in city.people.items() if k.startswith("office.")}
    outside = other.people["finance.clerk.0"]
    assert search_people(session, unit_ids=[finance.id], keyword=outside.employee_code).items == []
    assert search_people(session, unit_ids=[], keyword="").items == []
    assert clerk.id not in {p.id for p in search_people(session, unit_ids=[finance.id], exclude_id=clerk.id).items}
    clerk.active = False
    session.flush()
    assert search_people(session, unit_ids=[finance.id], keyword=clerk.employee_code).items == []


def test_keyset_pages_cover_everyone_once(session: Session) -> None:
    city = make_city(session, holders=3)
    units = list(u.id for u in city.units.values())
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = search_people(session, unit_ids=units, limit=5, cursor=cursor)
        seen += [p.id for p in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == len(city.people) and pages > 1
    names = [p.name for p in search_people(session, unit_ids=units, limit=200).items]
    assert names == sorted(names)
