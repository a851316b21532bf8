"""机构改革: rename, merge and split with open cases — the plan, the execution, the chain, and a re-run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_flow import open_tasks, submit_and_accept
from tests.factories import City, joint_approval_process, make_city, publish_matter
from tests.oversight.helpers import assert_replays, events, overseer
from xietong.cases import service
from xietong.cases.models import Case
from xietong.catalog import service as catalog
from xietong.directory import service as directory
from xietong.directory.models import Membership, Post, Unit, UnitLineage
from xietong.directory.schemas import MembershipIn
from xietong.directory.service.reorganisation import ReorganisationIn, execute, plan
from xietong.directory.service.reorganisation import cases as cases_part
from xietong.engine.models import Task
from xietong.errors import Conflict, DomainError, Forbidden, InvalidInput
from xietong.security.models import RoleGrant
from xietong.security.principal import SYSTEM_PRINCIPAL, Principal, load_principal


@contextmanager
def savepoint(session: Session) -> Iterator[Session]:
    """Each transaction of the reorganisation as a savepoint of the test's rolled-back transaction."""
    with session.begin_nested():
        yield session


def run(session: Session, admin: Principal, spec: ReorganisationIn) -> object:
    return execute(lambda: savepoint(session), principal=admin, spec=spec)


def two_cases(session: Session) -> tuple[City, list[int], Principal]:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    cases = [submit_and_accept(session, city, local.id) for _ in range(2)]
    return city, cases, overseer(session, city, role="system_admin")


def merge_spec(city: City, reason: str = "编委〔2026〕12号") -> ReorganisationIn:
    return ReorganisationIn(kind="merge", units=[city.units["staffing"].code, city.units["office"].code],
                            reason=reason, successor={"code": f"{city.region.code}.merged", "name": "综合办公室"})


def test_merge_moves_units_people_matters_and_open_cases_with_their_steps(session: Session) -> None:
    city, case_ids, admin = two_cases(session)
    staffing, office = city.units["staffing"], city.units["office"]
    before = {t.id: t for case_id in case_ids for t in open_tasks(session, case_id)}
    spec = merge_spec(city)

    dry = plan(session, principal=admin, spec=spec)
    assert dry.refused == []
    kinds = {i.kind for i in dry.items}
    assert {"unit", "post", "membership", "matter", "grant", "case"} <= kinds
    # role grants are the security administrator's (三员分立): listed, kept on the old unit, never re-pointed
    assert {i.state for i in dry.items if i.kind == "grant"} == {"kept"}
    assert next(i.label for i in dry.items if i.kind == "unit") == "综合办公室"
    assert session.scalar(select(Unit).where(Unit.code == f"{city.region.code}.merged")) is None  # a dry run

    log = run(session, admin, spec)
    assert log.failed == []  # type: ignore[attr-defined]
    merged = session.scalars(select(Unit).where(Unit.code == f"{city.region.code}.merged")).one()
    session.refresh(staffing)
    session.refresh(office)
    assert (staffing.active, office.active, staffing.name) == (False, False, f"{city.region.name}编办")
    assert session.scalars(select(RoleGrant).where(RoleGrant.scope_unit_id == staffing.id)).all()
    assert merged.function == "staffing"  # assignment by function keeps finding the successor
    edges = session.scalars(select(UnitLineage).where(UnitLineage.successor_id == merged.id)).all()
    assert {(e.predecessor_id, e.kind, e.reason) for e in edges} == {
        (staffing.id, "merge", spec.reason), (office.id, "merge", spec.reason)}
    assert session.scalar(select(Membership.id).where(Membership.unit_id.in_([staffing.id, office.id]))) is None
    clerk = load_principal(session, city.person("staffing", "clerk").id)
    assert merged.id in clerk.unit_ids

    for case_id in case_ids:
        case = session.get(Case, case_id)
        assert case is not None
        session.refresh(case)
        assert (case.handling_unit_id, case.applicant_unit_id) == (merged.id, merged.id)
        assert case.party_units == f",{merged.id},"
        [task] = open_tasks(session, case_id)
        old = before[next(t for t in before if before[t].case_id == case_id)]
        post = session.get(Post, task.post_id)
        assert post is not None
        assert (task.unit_id, post.code, task.node_id, task.due_at) == (merged.id, "clerk", old.node_id, old.due_at)
        assert [e.type for e in events(session, case_id)][-2:] == ["task.reorganised", "case.reorganised"]
        assert_replays(session, case_id)

    [task] = open_tasks(session, case_ids[0])  # the moved step is worked in the successor as before
    service.complete_task(session, principal=clerk, task_id=task.id, approved=True, opinion="同意")
    assert_replays(session, case_ids[0])


def test_a_retired_unit_takes_no_new_work(session: Session) -> None:
    city, _case_ids, admin = two_cases(session)
    run(session, admin, merge_spec(city))
    staffing = city.units["staffing"]
    person = city.person("finance", "clerk")
    with pytest.raises(DomainError, match="已停用"):  # no new membership
        directory.replace_memberships(session, person_id=person.id,
                                      memberships=[MembershipIn(unit_code=staffing.code, post_code="clerk")])
    with pytest.raises(Conflict, match="已停用"):  # no matter published for it
        publish_matter(session, city, joint_approval_process())
    local = session.scalars(select(Case.local_matter_id)).first()
    with pytest.raises(Conflict, match="已停用"):  # no new case filed by it
        service.submit_case(session, principal=SYSTEM_PRINCIPAL, local_matter_id=local or 0,
                            applicant_unit_id=staffing.id, form={"title": "申请"})
    base = catalog.create_base_matter(session, code="T-RETIRED", name="停用单位事项", kind="promised",
                                      legal_limit_days=10)
    with pytest.raises(Conflict):
        catalog.create_local_matter(session, base=base, region_id=city.region.id, handling_unit_id=staffing.id)
    # the matter moved: new applications go to the successor, whose new steps land there too
    merged = session.scalars(select(Unit).where(Unit.code == f"{city.region.code}.merged")).one()
    finance = city.principal(session, "finance")
    case_id, _ = service.submit_case(session, principal=finance, local_matter_id=local or 0,
                                     applicant_unit_id=city.units["finance"].id, form={"title": "改革后的申请"})
    assert session.get(Case, case_id).handling_unit_id == merged.id  # type: ignore[union-attr]


def test_rename_keeps_the_id_and_the_old_name_and_records_it_on_open_cases(session: Session) -> None:
    city, case_ids, admin = two_cases(session)
    staffing = city.units["staffing"]
    old_name = staffing.name
    tasks_before = [t.id for c in case_ids for t in open_tasks(session, c)]
    spec = ReorganisationIn(kind="rename", units=[staffing.code], name="机构编制委员会办公室", reason="更名")
    assert [i.kind for i in plan(session, principal=admin, spec=spec).items] == ["unit", "case", "case"]
    assert run(session, admin, spec).failed == []  # type: ignore[attr-defined]
    session.refresh(staffing)
    assert (staffing.name, staffing.active) == ("机构编制委员会办公室", True)
    edge = session.scalars(select(UnitLineage).where(UnitLineage.predecessor_id == staffing.id)).one()
    assert (edge.successor_id, edge.kind, edge.predecessor_name) == (staffing.id, "rename", old_name)
    assert [t.id for c in case_ids for t in open_tasks(session, c)] == tasks_before  # nothing moved
    for case_id in case_ids:
        assert events(session, case_id)[-1].type == "case.reorganised"
        assert_replays(session, case_id)
    again = run(session, admin, spec)  # the same reorganisation again: nothing left to do
    assert again.items == []  # type: ignore[attr-defined]
    assert plan(session, principal=admin, spec=spec).items == []


def split_spec(city: City, session: Session, case_ids: list[int], *, people: bool = True) -> ReorganisationIn:
    staffing = city.units["staffing"]
    a, b = f"{city.region.code}.s1", f"{city.region.code}.s2"
    numbers = [session.get(Case, c).number for c in case_ids]  # type: ignore[union-attr]
    matters = session.scalars(select(Case.local_matter_id).where(Case.id.in_(case_ids))).all()
    codes = [m for m in session.scalars(select(Case).where(Case.id.in_(case_ids)))]
    del codes
    from xietong.catalog.models import LocalMatter

    matter_codes = session.scalars(select(LocalMatter.code).where(LocalMatter.id.in_(matters))).all()
    posts = {p.code: a for p in session.scalars(select(Post).where(Post.unit_id == staffing.id))}
    holders = {p.username: (a if k.endswith(".0") else b) for k, p in city.people.items()
               if k.startswith("staffing.")}
    return ReorganisationIn(
        kind="split", units=[staffing.code], reason="职能拆分",
        successors=[{"code": a, "name": "编制一处"}, {"code": b, "name": "编制二处"}],
        mapping={"posts": posts, "people": holders if people else {}, "matters": dict.fromkeys(matter_codes, a),
                 "cases": {numbers[0]: a, numbers[1]: b}},
    )


def test_split_refuses_what_the_mapping_does_not_place_and_then_follows_it(session: Session) -> None:
    city, case_ids, admin = two_cases(session)
    incomplete = split_spec(city, session, case_ids, people=False)
    dry = plan(session, principal=admin, spec=incomplete)
    refused = {i.kind for i in dry.refused}
    assert refused == {"membership"}
    assert all("未指定" in (i.reason or "") for i in dry.refused)
    with pytest.raises(InvalidInput) as refusal:
        run(session, admin, incomplete)
    assert refusal.value.code == "reorganisation_refused"
    assert session.scalar(select(UnitLineage.id)) is None or not session.scalars(select(UnitLineage).where(
        UnitLineage.predecessor_id == city.units["staffing"].id)).all()

    spec = split_spec(city, session, case_ids)
    assert run(session, admin, spec).failed == []  # type: ignore[attr-defined]
    s1, s2 = (session.scalars(select(Unit).where(Unit.code == c)).one() for c in (s.code for s in spec.successors))
    for case_id, unit in zip(case_ids, (s1, s2), strict=True):
        case = session.get(Case, case_id)
        assert case is not None
        session.refresh(case)
        assert case.handling_unit_id == unit.id
        [task] = open_tasks(session, case_id)
        assert task.unit_id == unit.id
        assert_replays(session, case_id)
    assert {m.unit_id for m in session.scalars(select(Membership).where(
        Membership.person_id == city.person("staffing", "clerk", 1).id))} == {s2.id}


def test_a_failing_case_does_not_stop_the_others_and_a_rerun_finishes_it(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    city, case_ids, admin = two_cases(session)
    clerk, colleague = city.principal(session, "staffing", n=0), city.person("staffing", "clerk", 1)
    [task] = open_tasks(session, case_ids[1])
    service.claim_task(session, principal=clerk, task_id=task.id)
    service.delegate_task(session, principal=clerk, task_id=task.id, to_person_id=colleague.id)
    spec = merge_spec(city)
    real = cases_part.move_case

    def broken(session: Session, resolved: object, **kw: object) -> None:  # a fault in one case's transaction
        if kw["case_id"] == case_ids[0]:
            real(session, resolved, **kw)  # type: ignore[arg-type]
            raise Conflict(code="task_closed", detail="该待办已经被他人办理，请刷新后查看")
        real(session, resolved, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cases_part, "move_case", broken)
    log = run(session, admin, spec)
    failed = log.failed  # type: ignore[attr-defined]
    assert [(o.id, o.code) for o in failed] == [(case_ids[0], "task_closed")]
    assert open_tasks(session, case_ids[0])[0].unit_id == city.units["staffing"].id  # rolled back whole
    assert events(session, case_ids[0])[-1].type == "case.accepted"
    assert_replays(session, case_ids[0])
    [moved] = open_tasks(session, case_ids[1])  # the other case went on; its 委派 stays lent to the colleague
    merged = session.get(Case, case_ids[1]).handling_unit_id  # type: ignore[union-attr]
    assert (moved.unit_id, moved.assignee_id, moved.delegate_id) == (merged, clerk.id, colleague.id)
    assert_replays(session, case_ids[1])

    monkeypatch.setattr(cases_part, "move_case", real)
    assert [i.case_id for i in plan(session, principal=admin, spec=spec).items] == [case_ids[0]]
    again = run(session, admin, spec)  # the directory part is done; only the case left moves
    assert [(o.kind, o.id, o.ok) for o in again.items] == [("case", case_ids[0], True)]  # type: ignore[attr-defined]
    assert open_tasks(session, case_ids[0])[0].unit_id == merged
    assert_replays(session, case_ids[0])
    assert run(session, admin, spec).items == []  # type: ignore[attr-defined]
    service.hand_back_task(session, principal=load_principal(session, colleague.id), task_id=moved.id)
    assert_replays(session, case_ids[1])


def test_structural_mistakes_and_access_are_refused_at_once(session: Session) -> None:
    city, _case_ids, admin = two_cases(session)
    staffing = city.units["staffing"]
    with pytest.raises(InvalidInput, match="不存在"):
        plan(session, principal=admin, spec=ReorganisationIn(kind="merge", units=["nope"], reason="x",
                                                            successor={"code": "x", "name": "x"}))
    with pytest.raises(InvalidInput, match="至少两个"):
        plan(session, principal=admin, spec=ReorganisationIn(kind="split", units=[staffing.code], reason="x",
                                                            successors=[{"code": "a", "name": "甲"}]))
    with pytest.raises(InvalidInput, match="不能同时"):
        plan(session, principal=admin, spec=ReorganisationIn(
            kind="merge", units=[staffing.code, city.units["office"].code], reason="x",
            successor={"code": staffing.code}))
    with pytest.raises(Forbidden):
        plan(session, principal=city.principal(session, "staffing"), spec=merge_spec(city))
    assert session.scalar(select(Task.id).where(Task.unit_id == -1)) is None


def test_a_retired_unit_or_a_foreign_parent_receives_nothing(session: Session) -> None:
    city, _case_ids, admin = two_cases(session)
    finance = city.units["finance"]
    finance.active = False
    session.flush()
    into_retired = ReorganisationIn(kind="merge", units=[city.units["staffing"].code, city.units["office"].code],
                                    reason="编委〔2026〕13号", successor={"code": finance.code})
    with pytest.raises(InvalidInput) as refusal:
        plan(session, principal=admin, spec=into_retired)
    assert refusal.value.code == "reorganisation_successor_retired"
    other = make_city(session)
    foreign = ReorganisationIn(kind="merge", units=[city.units["staffing"].code, city.units["office"].code],
                               reason="编委〔2026〕14号", successor={
                                   "code": f"{city.region.code}.merged", "name": "综合办公室",
                                   "parent_code": other.units["office"].code})
    with pytest.raises(InvalidInput) as refusal:
        plan(session, principal=admin, spec=foreign)
    assert refusal.value.code == "reorganisation_across_regions"
