"""After a 机构改革: a database fault in one case's move is logged and the others go on; the audit rows are
written where the work is; and the successor's staff read the predecessors' cases — read only."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.cases.test_flow import open_tasks
from tests.directory.test_reorganisation import merge_spec, run, savepoint, two_cases
from tests.factories import joint_approval_process, make_city, publish_matter
from tests.oversight.helpers import overseer
from xietong.cases import service
from xietong.cases.models import Case
from xietong.cases.service.common import facts, lock_case
from xietong.directory.models import Unit
from xietong.directory.service.reorganisation import ReorganisationIn, execute
from xietong.directory.service.reorganisation import cases as cases_part
from xietong.security.permissions import can, visible_cases
from xietong.security.principal import load_principal


def test_a_database_fault_in_one_case_is_logged_and_the_others_move(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    city, case_ids, admin = two_cases(session)
    real = cases_part.move_case

    def faulty(session: Session, resolved: object, **kw: object) -> None:
        real(session, resolved, **kw)  # type: ignore[arg-type]
        if kw["case_id"] == case_ids[0]:
            raise IntegrityError("INSERT …", {}, Exception("duplicate key"))

    monkeypatch.setattr(cases_part, "move_case", faulty)
    log = run(session, admin, merge_spec(city))
    [failed] = log.failed  # type: ignore[attr-defined]
    assert (failed.id, failed.code) == (case_ids[0], "case_move_failed") and "再次执行" in (failed.detail or "")
    assert open_tasks(session, case_ids[0])[0].unit_id == city.units["staffing"].id  # rolled back whole
    assert open_tasks(session, case_ids[1])[0].unit_id != city.units["staffing"].id  # the other one moved


def test_the_directory_part_is_audited_in_its_own_transaction_and_the_cases_after(session: Session) -> None:
    city, case_ids, admin = two_cases(session)
    written: list[tuple[str, str, dict[str, object], bool]] = []

    def record(tx: Session, action: str, key: str, detail: dict[str, object]) -> None:
        successor = tx.scalar(select(Unit.id).where(Unit.code == f"{city.region.code}.merged"))
        moved = sum(1 for c in case_ids if open_tasks(tx, c)[0].unit_id == successor)
        written.append((action, key, detail, moved == 0))

    log = execute(lambda: savepoint(session), principal=admin, spec=merge_spec(city), record=record)
    [(first, key, detail, before_cases), (second, key2, cases, _)] = written
    assert (first, before_cases) == ("directory.reorganised", True)  # with the directory, before any case moved
    assert detail["units"] and detail["directory_items"] and key == key2 == log.key
    assert second == "directory.reorganisation_cases" and cases == {"cases_moved": 2, "cases_failed": []}


def test_the_successors_staff_read_the_predecessors_closed_cases_but_do_not_act_on_them(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    closed, _ = service.submit_case(session, principal=city.principal(session, "office"), local_matter_id=local.id,
                                    applicant_unit_id=city.units["office"].id, form={"title": "改革前办结"})
    service.reject_case(session, principal=city.principal(session, "staffing"), case_id=closed, reason="不属于职责")
    admin = overseer(session, city, role="system_admin")
    code = city.region.code
    first = ReorganisationIn(kind="merge", units=[city.units["staffing"].code, city.units["hr_social"].code],
                             reason="编委〔2026〕1号", successor={"code": f"{code}.m1", "name": "人事编制局"})
    assert run(session, admin, first).failed == []  # type: ignore[attr-defined]
    middle = session.scalars(select(Unit).where(Unit.code == f"{code}.m1")).one()
    second = ReorganisationIn(kind="merge", units=[middle.code, city.units["finance"].code], reason="编委〔2026〕2号",
                              successor={"code": f"{code}.m2", "name": "综合管理局"})
    assert run(session, admin, second).failed == []  # type: ignore[attr-defined]
    final = session.scalars(select(Unit).where(Unit.code == f"{code}.m2")).one()

    heir = load_principal(session, city.person("staffing", "clerk").id)  # moved along to the last successor
    assert final.id in heir.unit_ids
    assert {city.units["staffing"].id, city.units["hr_social"].id, middle.id} <= heir.heir_unit_ids  # A → B → C
    case = facts(lock_case(session, closed))
    assert str(city.units["staffing"].id) in case.party_units.split(",")  # a closed case is never rewritten
    assert can(heir, "read", case)
    assert not can(heir, "accept", case) and not can(heir, "conclude", case)
    assert session.scalar(select(Case.id).where(Case.id == closed, visible_cases(heir))) == closed
    stranger = make_city(session).principal(session, "staffing")  # another county's unit of the same function
    assert not stranger.heir_unit_ids and not can(stranger, "read", case)
    assert session.scalar(select(Case.id).where(Case.id == closed, visible_cases(stranger))) is None
