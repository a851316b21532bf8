"""Directory operations and queries: the unit tree and its paths, posts, people, memberships, delegation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.db.base import utcnow
from xietong.directory import service as directory
from xietong.directory.models import Membership, Region, Unit
from xietong.directory.schemas import (
    MembershipIn,
    PersonIn,
    PersonUpdate,
    PostIn,
    RegionIn,
    UnitIn,
    UnitUpdate,
    field_problems,
    uscc_check_char,
)
from xietong.errors import Conflict, InvalidInput, NotFound

REGION = "339901"
OTHER_REGION = "339902"


def uscc(serial: int) -> str:
    """A valid 统一社会信用代码 for a 机关 (11…) in the test region."""
    first17 = f"11{REGION}{serial:09d}"
    return first17 + uscc_check_char(first17)


@pytest.fixture
def region(session: Session) -> Region:
    return directory.create_region(session, data=RegionIn(code=REGION, name="测试市", level="city"))


@pytest.fixture
def other_region(session: Session, region: Region) -> Region:
    data = RegionIn(code=OTHER_REGION, name="测试县", level="county", parent_code=REGION)
    return directory.create_region(session, data=data)


def add_unit(session: Session, code: str, name: str, parent: str | None = None, **extra: object) -> Unit:
    data = UnitIn(code=code, name=name, parent_code=parent, region_code=extra.pop("region", REGION), **extra)
    return directory.create_unit(session, data=data)


@pytest.fixture
def tree(session: Session, region: Region) -> dict[str, Unit]:
    """财政局 > 预算科 > 预算一组, and 人社局 beside it."""
    units = {
        "fin": add_unit(session, "T-FIN", "测试市财政局", short_name="财政局", function="finance", uscc=uscc(1)),
        "hr": add_unit(session, "T-HR", "测试市人力资源和社会保障局", short_name="人社局"),
    }
    units["budget"] = add_unit(session, "T-FIN-B", "预算科", "T-FIN")
    units["group"] = add_unit(session, "T-FIN-B-1", "预算一组", "T-FIN-B")
    return units


def add_person(session: Session, code: str, *memberships: MembershipIn, phone: str | None = None) -> int:
    data = PersonIn(employee_code=code, username=f"u{code}", name=f"人员{code}", phone=phone, memberships=memberships)
    return directory.create_person(session, data=data).id


# --- schemas -------------------------------------------------------------------------------------------------


def test_uscc_is_checked_by_its_check_character() -> None:
    assert UnitIn(code="X", name="某局", region_code=REGION, uscc=" 91350100m000100y43 ").uscc == "91350100M000100Y43"
    assert UnitIn(code="X", name="某局", region_code=REGION, uscc="").uscc is None
    wrong_check = "91350100M000100Y44"
    for bad, message in [
        (wrong_check, "统一社会信用代码校验位不正确"),
        ("9135010", "统一社会信用代码应为 18 位，实际为 7 位"),
        ("91350100M000100I43", "统一社会信用代码含不允许的字符：I"),
    ]:
        with pytest.raises(ValidationError) as caught:
            UnitIn(code="X", name="某局", region_code=REGION, uscc=bad)
        [problem] = field_problems(caught.value)
        assert problem.field == "uscc"
        assert problem.message.startswith(message)


@pytest.mark.parametrize("phone", ["13812345678", "0578-2123456", "05782123456", "010-12345678"])
def test_mobile_and_landline_numbers_are_accepted(phone: str) -> None:
    assert PersonIn(employee_code="E1", username="u1", name="张三", phone=phone).phone == phone


@pytest.mark.parametrize("phone", ["12812345678", "1381234567", "578-2123456", "0578-212345", "电话"])
def test_other_phone_numbers_are_refused_in_chinese(phone: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PersonIn(employee_code="E1", username="u1", name="张三", phone=phone)
    [problem] = field_problems(caught.value, {"phone": "手机"})
    assert problem.field == "手机"
    assert "电话号码格式不正确" in problem.message


def test_field_problems_speak_chinese() -> None:
    with pytest.raises(ValidationError) as caught:
        UnitIn(code="", name="名" * 201, region_code=REGION)
    assert [(p.field, p.message) for p in field_problems(caught.value)] == [
        ("code", "不能为空"),
        ("name", "不能超过 200 个字符"),
    ]


# --- units ---------------------------------------------------------------------------------------------------


def test_paths_are_the_ids_from_the_root(tree: dict[str, Unit]) -> None:
    fin, budget, group = tree["fin"], tree["budget"], tree["group"]
    assert fin.path == f"/{fin.id}/"
    assert budget.path == f"/{fin.id}/{budget.id}/"
    assert group.path == f"/{fin.id}/{budget.id}/{group.id}/"
    assert group.parent_id == budget.id


def test_unit_code_and_uscc_are_unique(session: Session, tree: dict[str, Unit]) -> None:
    with pytest.raises(Conflict) as caught:
        add_unit(session, "T-FIN", "另一个财政局")
    assert caught.value.code == "unit_code_taken"
    with pytest.raises(Conflict) as caught:
        add_unit(session, "T-NEW", "新单位", uscc=uscc(1))
    assert caught.value.code == "unit_uscc_taken"
    assert "测试市财政局" in caught.value.detail
    with pytest.raises(Conflict):
        directory.update_unit(session, unit_id=tree["hr"].id, data=UnitUpdate(uscc=uscc(1)))


def test_unknown_parent_or_region_is_invalid_input(session: Session, region: Region) -> None:
    with pytest.raises(InvalidInput) as caught:
        add_unit(session, "T-X", "某科", "T-NOPE")
    assert caught.value.code == "unknown_parent_code"
    assert caught.value.errors[0].field == "parent_code"
    with pytest.raises(InvalidInput) as caught:
        add_unit(session, "T-X", "某局", region="000000")
    assert caught.value.code == "unknown_region_code"


def test_moving_a_unit_recomputes_the_paths_of_its_subtree(session: Session, tree: dict[str, Unit]) -> None:
    hr, budget, group = tree["hr"], tree["budget"], tree["group"]
    directory.update_unit(session, unit_id=budget.id, data=UnitUpdate(parent_code="T-HR", name="综合科"))
    assert (budget.parent_id, budget.name) == (hr.id, "综合科")
    assert budget.path == f"/{hr.id}/{budget.id}/"
    session.expire_all()  # read what the database holds, not the identity map
    assert session.get(Unit, group.id).path == f"/{hr.id}/{budget.id}/{group.id}/"  # type: ignore[union-attr]
    assert [u.code for u in directory.subtree(session, unit_id=hr.id)] == ["T-HR", "T-FIN-B", "T-FIN-B-1"]

    directory.update_unit(session, unit_id=budget.id, data=UnitUpdate(parent_code=None))
    assert budget.parent_id is None
    assert budget.path == f"/{budget.id}/"
    assert session.get(Unit, group.id).path == f"/{budget.id}/{group.id}/"  # type: ignore[union-attr]


def test_update_without_a_parent_field_does_not_move(session: Session, tree: dict[str, Unit]) -> None:
    budget = directory.update_unit(session, unit_id=tree["budget"].id, data=UnitUpdate(short_name="预算"))
    assert (budget.parent_id, budget.short_name) == (tree["fin"].id, "预算")


def test_a_unit_cannot_move_into_its_own_subtree(session: Session, tree: dict[str, Unit]) -> None:
    fin = tree["fin"]
    for target in ("T-FIN-B-1", "T-FIN"):
        with pytest.raises(InvalidInput) as caught:
            directory.update_unit(session, unit_id=fin.id, data=UnitUpdate(parent_code=target))
        assert caught.value.code == "unit_move_into_subtree"
    assert fin.parent_id is None
    assert fin.path == f"/{fin.id}/"


def test_deactivating_a_unit_deactivates_its_subtree(session: Session, tree: dict[str, Unit]) -> None:
    assert directory.deactivate_unit(session, unit_id=tree["budget"].id) == 2
    assert not tree["group"].active
    assert tree["fin"].active
    with pytest.raises(InvalidInput) as caught:
        add_unit(session, "T-FIN-B-2", "预算二组", "T-FIN-B")
    assert caught.value.code == "unit_parent_inactive"
    with pytest.raises(Conflict):
        directory.update_unit(session, unit_id=tree["budget"].id, data=UnitUpdate(name="新名"))
    with pytest.raises(NotFound):
        directory.deactivate_unit(session, unit_id=-1)


def test_unit_tree_nests_children_and_filters_by_region(
    session: Session, tree: dict[str, Unit], other_region: Region
) -> None:
    add_unit(session, "T-C-FIN", "测试县财政局", region=OTHER_REGION)
    roots = directory.unit_tree(session, region_id=tree["fin"].region_id)
    assert [root.code for root in roots] == ["T-FIN", "T-HR"]
    [budget] = roots[0].children
    assert (budget.code, budget.parent_code, budget.region_code) == ("T-FIN-B", "T-FIN", REGION)
    assert [child.code for child in budget.children] == ["T-FIN-B-1"]
    county = directory.unit_tree(session, region_id=other_region.id)
    assert [(root.code, root.children) for root in county] == [("T-C-FIN", [])]
    assert [u.code for u in directory.units_by_region(session, region_id=other_region.id)] == ["T-C-FIN"]


def test_find_units_matches_chinese_substrings(session: Session, tree: dict[str, Unit]) -> None:
    # Scoped to the test's region: other tests commit their own units to the shared worker database.
    region_id = tree["fin"].region_id

    def codes(keyword: str) -> list[str]:
        return [u.code for u in directory.find_units(session, keyword=keyword, region_id=region_id)]

    assert codes("财政") == ["T-FIN"]
    assert codes("人社") == ["T-HR"]  # short name
    assert codes("预算") == ["T-FIN-B", "T-FIN-B-1"]
    assert directory.find_units(session, keyword="%") == []
    assert directory.find_units(session, keyword="  ") == []


def test_unit_out_names_parent_and_region(session: Session, tree: dict[str, Unit]) -> None:
    out = directory.unit_out(session, unit_id=tree["budget"].id)
    assert (out.code, out.parent_code, out.region_code, out.active) == ("T-FIN-B", "T-FIN", REGION, True)
    with pytest.raises(NotFound):
        directory.unit_out(session, unit_id=-1)


# --- posts ---------------------------------------------------------------------------------------------------


def test_standard_posts_are_created_on_first_use(session: Session, tree: dict[str, Unit]) -> None:
    unit_id = tree["fin"].id
    post = directory.ensure_post(session, unit_id=unit_id, code=directory.LEADER_IN_CHARGE)
    assert post.name == "分管领导"
    assert directory.ensure_post(session, unit_id=unit_id, code="leader_in_charge").id == post.id
    with pytest.raises(InvalidInput) as caught:
        directory.ensure_post(session, unit_id=unit_id, code="driver")
    assert caught.value.code == "unknown_post_code"
    directory.create_post(session, unit_id=unit_id, data=PostIn(code="driver", name="驾驶员"))
    with pytest.raises(Conflict):
        directory.create_post(session, unit_id=unit_id, data=PostIn(code="driver", name="司机"))
    assert [p.code for p in directory.posts_of(session, unit_id=unit_id)] == ["leader_in_charge", "driver"]


# --- people and memberships ----------------------------------------------------------------------------------


def test_people_by_unit_and_post(session: Session, tree: dict[str, Unit]) -> None:
    fin_id = tree["fin"].id
    clerk = add_person(session, "E1", MembershipIn(unit_code="T-FIN", post_code="clerk"), phone="13800000001")
    leader = add_person(
        session,
        "E2",
        MembershipIn(unit_code="T-FIN", post_code="leader_in_charge"),
        MembershipIn(unit_id=tree["hr"].id, post_code="head", is_primary=True),
    )
    plain = add_person(session, "E3", MembershipIn(unit_code="T-FIN"))

    assert [p.id for p in directory.people_in_unit(session, unit_id=fin_id)] == [clerk, leader, plain]
    assert [p.id for p in directory.holders_of_post(session, unit_id=fin_id, post_code="clerk")] == [clerk]
    assert [p.id for p in directory.leader_of(session, unit_id=fin_id)] == [leader]
    assert directory.leader_of(session, unit_id=tree["hr"].id) == []
    assert directory.person_by_username(session, username="uE2").id == leader  # type: ignore[union-attr]
    assert directory.person_by_username(session, username="nobody") is None

    out = directory.person_out(session, person_id=leader)
    assert [(m.unit_code, m.post_code, m.post_name, m.is_primary) for m in out.memberships] == [
        ("T-HR", "head", "主要负责人", True),
        ("T-FIN", "leader_in_charge", "分管领导", False),
    ]

    directory.update_person(session, person_id=leader, data=PersonUpdate(active=False))
    assert directory.leader_of(session, unit_id=fin_id) == []


def test_employee_code_and_username_are_unique(session: Session, tree: dict[str, Unit]) -> None:
    add_person(session, "E1")
    with pytest.raises(Conflict) as caught:
        add_person(session, "E1")
    assert caught.value.code == "person_employee_code_taken"
    with pytest.raises(Conflict) as caught:
        directory.create_person(session, data=PersonIn(employee_code="E9", username="uE1", name="重名"))
    assert caught.value.code == "person_username_taken"
    other = add_person(session, "E2")
    with pytest.raises(Conflict):
        directory.update_person(session, person_id=other, data=PersonUpdate(username="uE1"))


def test_a_person_with_a_bad_membership_is_not_written(session: Session, tree: dict[str, Unit]) -> None:
    with pytest.raises(InvalidInput) as caught:
        add_person(session, "E1", MembershipIn(unit_code="T-FIN"), MembershipIn(unit_code="T-NOPE"))
    assert caught.value.code == "unknown_unit_code"
    assert directory.person_by_employee_code(session, employee_code="E1") is None


def test_update_person_applies_only_given_fields(session: Session, region: Region) -> None:
    person_id = add_person(session, "E1", phone="13800000001")
    person = directory.update_person(session, person_id=person_id, data=PersonUpdate(name="李四"))
    assert (person.name, person.phone, person.username) == ("李四", "13800000001", "uE1")
    person = directory.update_person(session, person_id=person_id, data=PersonUpdate(phone=None, username="lisi"))
    assert (person.phone, person.username) == (None, "lisi")


def test_memberships_are_unique_even_without_a_post(session: Session, tree: dict[str, Unit]) -> None:
    person_id = add_person(session, "E1", MembershipIn(unit_code="T-FIN"))
    with pytest.raises(Conflict) as caught:
        directory.add_membership(session, person_id=person_id, data=MembershipIn(unit_code="T-FIN"))
    assert caught.value.code == "membership_exists"
    with pytest.raises(InvalidInput) as caught:
        add_person(session, "E2", MembershipIn(unit_code="T-HR"), MembershipIn(unit_code="T-HR"))
    assert caught.value.code == "membership_duplicate"


def test_the_primary_membership_moves_when_removed(session: Session, tree: dict[str, Unit]) -> None:
    person_id = add_person(session, "E1", MembershipIn(unit_code="T-FIN", post_code="clerk"))
    second = directory.add_membership(session, person_id=person_id, data=MembershipIn(unit_code="T-HR"))
    assert not second.is_primary
    third = directory.add_membership(
        session, person_id=person_id, data=MembershipIn(unit_code="T-FIN-B", is_primary=True)
    )
    memberships = directory.person_out(session, person_id=person_id).memberships
    assert [(m.unit_code, m.is_primary) for m in memberships] == [("T-FIN-B", True), ("T-FIN", False), ("T-HR", False)]
    directory.remove_membership(session, membership_id=third.id)
    assert [m.is_primary for m in directory.person_out(session, person_id=person_id).memberships] == [True, False]
    with pytest.raises(NotFound):
        directory.remove_membership(session, membership_id=third.id)


def test_no_one_joins_a_deactivated_unit_but_history_stays(session: Session, tree: dict[str, Unit]) -> None:
    person_id = add_person(session, "E1", MembershipIn(unit_code="T-FIN-B-1", post_code="clerk"))
    directory.deactivate_unit(session, unit_id=tree["group"].id)
    with pytest.raises(InvalidInput) as caught:
        directory.add_membership(session, person_id=person_id, data=MembershipIn(unit_code="T-FIN-B-1"))
    assert caught.value.code == "unit_inactive"
    directory.replace_memberships(session, person_id=person_id, memberships=[MembershipIn(unit_code="T-HR")])
    memberships = directory.person_out(session, person_id=person_id).memberships
    assert [(m.unit_code, m.is_primary) for m in memberships] == [("T-HR", True), ("T-FIN-B-1", False)]


def test_replace_memberships_keeps_matching_rows(session: Session, tree: dict[str, Unit]) -> None:
    person_id = add_person(
        session, "E1", MembershipIn(unit_code="T-FIN", post_code="clerk"), MembershipIn(unit_code="T-HR")
    )
    [kept_id] = session.scalars(select(Membership.id).where(Membership.unit_id == tree["fin"].id)).all()
    wanted = [MembershipIn(unit_code="T-FIN-B"), MembershipIn(unit_code="T-FIN", post_code="clerk")]
    rows = directory.replace_memberships(session, person_id=person_id, memberships=wanted)
    assert [(row.unit_id, row.is_primary) for row in rows] == [(tree["budget"].id, True), (tree["fin"].id, False)]
    assert rows[1].id == kept_id
    assert session.scalar(select(func.count()).where(Membership.person_id == person_id)) == 2


# --- delegation ----------------------------------------------------------------------------------------------


def test_delegation_names_a_stand_in_for_a_period(session: Session, region: Region) -> None:
    away, stand_in = add_person(session, "E1"), add_person(session, "E2")
    start = datetime(2026, 12, 1, tzinfo=UTC)
    delegation = directory.set_delegation(
        session,
        from_person_id=away,
        to_person_id=stand_in,
        starts_at=start,
        ends_at=start + timedelta(days=5),
        reason=" 休假 ",
    )
    assert delegation.reason == "休假"
    assert directory.delegate_of(session, person_id=away, at=start + timedelta(days=1)).id == stand_in  # type: ignore[union-attr]
    assert directory.delegate_of(session, person_id=away, at=start + timedelta(days=5)) is None
    assert directory.delegate_of(session, person_id=stand_in, at=start) is None
    assert [d.id for d in directory.delegations_of(session, person_id=stand_in)] == [delegation.id]
    directory.update_person(session, person_id=stand_in, data=PersonUpdate(active=False))
    assert directory.delegate_of(session, person_id=away, at=start + timedelta(days=1)) is None


def test_delegation_refusals(session: Session, region: Region) -> None:
    a, b, c = add_person(session, "E1"), add_person(session, "E2"), add_person(session, "E3")
    start = datetime(2026, 12, 1, tzinfo=UTC)
    end = start + timedelta(days=3)

    def delegate(giver: int, taker: int, starts_at: datetime = start, ends_at: datetime = end) -> None:
        directory.set_delegation(
            session, from_person_id=giver, to_person_id=taker, starts_at=starts_at, ends_at=ends_at
        )

    for args, code in [
        ((a, a), "delegation_to_self"),
        ((a, b, start, start), "delegation_period_invalid"),
        ((a, b, end, start), "delegation_period_invalid"),
        ((a, b, start.replace(tzinfo=None), end), "delegation_naive_time"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            delegate(*args)
        assert caught.value.code == code
    with pytest.raises(NotFound):
        delegate(a, -1)

    delegate(a, b)
    with pytest.raises(Conflict) as caught:
        delegate(a, c, start + timedelta(days=2), end + timedelta(days=2))
    assert caught.value.code == "delegation_overlaps"
    with pytest.raises(Conflict) as caught:
        delegate(b, a)
    assert caught.value.code == "delegation_cycle"
    delegate(a, c, end, end + timedelta(days=1))  # back to back is no overlap

    directory.update_person(session, person_id=c, data=PersonUpdate(active=False))
    with pytest.raises(InvalidInput) as caught:
        delegate(b, c)
    assert caught.value.code == "delegation_to_inactive"


def test_cancelling_a_delegation_ends_it_now_or_removes_it(session: Session, region: Region) -> None:
    a, b = add_person(session, "E1"), add_person(session, "E2")
    now = utcnow()
    running = directory.set_delegation(
        session, from_person_id=a, to_person_id=b, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)
    )
    future = directory.set_delegation(
        session, from_person_id=a, to_person_id=b, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=3)
    )
    directory.cancel_delegation(session, delegation_id=running.id)
    directory.cancel_delegation(session, delegation_id=future.id)
    assert running.ends_at <= utcnow()
    assert [d.id for d in directory.delegations_of(session, person_id=a)] == [running.id]
    assert directory.delegate_of(session, person_id=a, at=utcnow()) is None


# --- posts: rename, remove, holders; a unit's leaders and its place in the tree ---------------------------------


def test_a_post_is_renamed_and_removed_only_while_nobody_holds_it(session: Session, tree: dict[str, Unit]) -> None:
    unit = tree["budget"]
    post = directory.create_post(session, unit_id=unit.id, data=PostIn(code="reviewer", name="审核岗"))
    assert directory.rename_post(session, post_id=post.id, name=" 复核岗 ").name == "复核岗"
    with pytest.raises(InvalidInput) as blank:
        directory.rename_post(session, post_id=post.id, name="  ")
    assert blank.value.errors[0].field == "name"
    person = add_person(session, "PH1", MembershipIn(unit_id=unit.id, post_code="reviewer"))
    assert [p.id for p in directory.post_holders(session, unit_id=unit.id)[post.id]] == [person]
    with pytest.raises(InvalidInput) as held:
        directory.remove_post(session, post_id=post.id)
    assert held.value.code == "post_held" and "1 人" in held.value.detail
    directory.replace_memberships(session, person_id=person, memberships=[MembershipIn(unit_id=unit.id)])
    directory.remove_post(session, post_id=post.id)
    assert directory.post_by_code(session, unit_id=unit.id, code="reviewer") is None
    with pytest.raises(NotFound):
        directory.remove_post(session, post_id=post.id)


def test_the_leaders_of_a_unit_are_exactly_those_chosen_among_its_members(session: Session,
                                                                          tree: dict[str, Unit]) -> None:
    unit = tree["fin"]
    first, second = (add_person(session, code, MembershipIn(unit_id=unit.id)) for code in ("LD1", "LD2"))
    outsider = add_person(session, "LD3", MembershipIn(unit_id=tree["hr"].id))
    held = directory.set_post_holders(session, unit_id=unit.id, post_code=directory.LEADER_IN_CHARGE,
                                      person_ids=[first, second])
    assert {p.id for p in held} == {first, second} == {p.id for p in directory.leader_of(session, unit_id=unit.id)}
    directory.set_post_holders(session, unit_id=unit.id, post_code=directory.LEADER_IN_CHARGE, person_ids=[second])
    assert [p.id for p in directory.leader_of(session, unit_id=unit.id)] == [second]
    assert session.scalar(select(func.count()).select_from(Membership).where(Membership.person_id == first)) == 1
    with pytest.raises(InvalidInput) as stranger:
        directory.set_post_holders(session, unit_id=unit.id, post_code=directory.LEADER_IN_CHARGE,
                                   person_ids=[outsider])
    assert stranger.value.code == "holder_not_member"


def test_leaders_with_several_memberships_keep_them_and_the_only_one_is_never_lost(
    session: Session, tree: dict[str, Unit]
) -> None:
    unit = tree["fin"]
    directory.ensure_post(session, unit_id=unit.id, code="reviewer", name="审核员")
    both = add_person(session, "LD4", MembershipIn(unit_id=unit.id), MembershipIn(unit_id=unit.id,
                                                                                post_code="reviewer"))
    only = add_person(session, "LD5", MembershipIn(unit_id=unit.id, post_code=directory.LEADER_IN_CHARGE))
    held = directory.set_post_holders(session, unit_id=unit.id, post_code=directory.LEADER_IN_CHARGE,
                                      person_ids=[both, only])
    assert {p.id for p in held} == {both, only}
    directory.set_post_holders(session, unit_id=unit.id, post_code=directory.LEADER_IN_CHARGE, person_ids=[both])
    assert [p.id for p in directory.leader_of(session, unit_id=unit.id)] == [both]
    members = {p.id for p in directory.people_in_unit(session, unit_id=unit.id)}
    assert {both, only} <= members  # the only membership of the former leader stays, without the post
    reviewers = {p.id for p in directory.people_in_unit(session, unit_id=unit.id, post_code="reviewer")}
    assert both in reviewers  # another post of the same person is untouched
    directory.set_post_holders(session, unit_id=unit.id, post_code=directory.LEADER_IN_CHARGE, person_ids=[both])
    assert [p.id for p in directory.leader_of(session, unit_id=unit.id)] == [both]  # again: no duplicate row
    directory.set_post_holders(session, unit_id=unit.id, post_code=directory.LEADER_IN_CHARGE, person_ids=[])
    assert directory.leader_of(session, unit_id=unit.id) == [] and both in {
        p.id for p in directory.people_in_unit(session, unit_id=unit.id, post_code="reviewer")}


def test_ending_a_post_holding_never_takes_the_holder_out_of_the_unit(session: Session,
                                                                     tree: dict[str, Unit]) -> None:
    unit = tree["fin"]
    leader = directory.LEADER_IN_CHARGE
    only = add_person(session, "LH1", MembershipIn(unit_id=unit.id, post_code=leader))
    both = add_person(session, "LH2", MembershipIn(unit_id=unit.id, post_code=directory.CLERK),
                      MembershipIn(unit_id=unit.id, post_code=leader))
    plain = add_person(session, "LH3", MembershipIn(unit_id=unit.id),
                       MembershipIn(unit_id=unit.id, post_code=directory.CLERK))

    def posts_of(person_id: int) -> list[str]:
        memberships = directory.person_out(session, person_id=person_id).memberships
        assert all(m.unit_id == unit.id for m in memberships)
        return sorted((m.post_code or "") for m in memberships)

    directory.set_post_holders(session, unit_id=unit.id, post_code=leader, person_ids=[plain])
    assert [p.id for p in directory.leader_of(session, unit_id=unit.id)] == [plain]
    assert {p.id for p in directory.people_in_unit(session, unit_id=unit.id)} == {only, both, plain}
    assert posts_of(only) == [""]
    assert posts_of(both) == [directory.CLERK]
    assert posts_of(plain) == sorted([leader, directory.CLERK])  # the post-less row took the post: no extra row
    directory.set_post_holders(session, unit_id=unit.id, post_code=leader, person_ids=[plain, both])
    directory.set_post_holders(session, unit_id=unit.id, post_code=leader, person_ids=[plain, both])
    assert posts_of(both) == sorted([leader, directory.CLERK])
    assert {p.id for p in directory.leader_of(session, unit_id=unit.id)} == {plain, both}
    primaries = [m for m in directory.person_out(session, person_id=both).memberships if m.is_primary]
    assert len(primaries) == 1


def test_unit_paths_name_every_ancestor(session: Session, tree: dict[str, Unit]) -> None:
    paths = directory.unit_paths(session, units=[tree["group"], tree["hr"]])
    assert paths == {tree["group"].id: "测试市财政局 › 预算科 › 预算一组", tree["hr"].id: "测试市人力资源和社会保障局"}
    assert "finance" in directory.unit_functions(session)
