"""People (人员) and their memberships: who belongs to which unit and holds which post there."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.directory.errors import not_found, refused, taken, unknown_reference
from xietong.directory.models import Membership, Person, Post, Unit
from xietong.directory.schemas import MembershipIn, MembershipOut, PersonIn, PersonOut, PersonUpdate
from xietong.directory.service.posts import LEADER_IN_CHARGE, ensure_post
from xietong.directory.service.units import unit_by_code
from xietong.errors import Conflict, Forbidden

MembershipKey = tuple[int, int | None]  # (unit id, post id)
Covers = Callable[[Unit], bool]  # whether the acting administrator covers a unit


def create_person(session: Session, *, data: PersonIn) -> Person:
    """Add a person with their memberships; employee code and username are unique."""
    if person_by_employee_code(session, employee_code=data.employee_code) is not None:
        raise taken("person_employee_code", "工号", data.employee_code)
    _check_username_free(session, data.username, owner_id=None)
    wanted = _wanted(session, data.memberships)  # refuse bad memberships before writing the person
    person = Person(employee_code=data.employee_code, username=data.username, name=data.name, phone=data.phone)
    session.add(person)
    session.flush()
    _apply_memberships(session, person.id, wanted)
    return person


def update_person(session: Session, *, person_id: int, data: PersonUpdate, covers: Covers | None = None) -> Person:
    """Change a person's username, name, phone or active flag (only the fields given).

    With ``covers``, renaming or (de)activating needs an administrator covering every unit the person is in:
    one covering only some of them could otherwise rename or lock out someone of another unit.
    """
    person = require_person(session, person_id=person_id)
    given = data.model_fields_set
    identity = ((data.username is not None and data.username != person.username)
                or (data.name is not None and data.name != person.name)
                or (data.active is not None and data.active != person.active))
    if covers is not None and identity:
        outside = [unit for unit in _active_units(session, person.id) if not covers(unit)]
        if outside:
            raise Forbidden(code="person_beyond_scope",
                            detail=f"{person.name}还在您不管理的单位“{outside[0].name}”任职，只能由覆盖其全部单位的管理员"
                                   "修改姓名、用户名或停用")
    if data.username is not None and data.username != person.username:
        _check_username_free(session, data.username, owner_id=person.id)
        person.username = data.username
    if data.name is not None:
        person.name = data.name
    if "phone" in given:
        person.phone = data.phone
    if data.active is not None:
        person.active = data.active
    session.flush()
    return person


def add_membership(session: Session, *, person_id: int, data: MembershipIn) -> Membership:
    """Put a person in a unit (and post); the first membership, or one asked to be, becomes primary."""
    person = require_person(session, person_id=person_id)
    unit, post = _resolve(session, data)
    current = _memberships(session, person.id)
    key = (unit.id, post.id if post else None)
    if any(_key(row) == key for row in current):
        raise Conflict(code="membership_exists", detail=f"{person.name}已在{_label(unit, post)}任职")
    primary = data.is_primary or not any(row.is_primary for row in current)
    if primary:
        for row in current:
            row.is_primary = False
    membership = Membership(person_id=person.id, unit_id=key[0], post_id=key[1], is_primary=primary)
    session.add(membership)
    session.flush()
    return membership


def remove_membership(session: Session, *, membership_id: int) -> None:
    """End a membership; if it was the primary one, the oldest remaining one becomes primary."""
    membership = session.get(Membership, membership_id)
    if membership is None:
        raise not_found("membership", "任职记录", membership_id)
    session.delete(membership)
    session.flush()
    if membership.is_primary:
        remaining = _memberships(session, membership.person_id)
        if remaining:
            remaining[0].is_primary = True
            session.flush()


def replace_memberships(session: Session, *, person_id: int, memberships: Sequence[MembershipIn]) -> list[Membership]:
    """Make the person's memberships in active units exactly these; those in deactivated units stay as history."""
    require_person(session, person_id=person_id)
    return _apply_memberships(session, person_id, _wanted(session, memberships))


def merge_memberships(session: Session, *, person_id: int, memberships: Sequence[MembershipIn],
                      covers: Covers) -> list[Membership]:
    """Make the person's memberships in the units ``covers`` accepts exactly these; the others stay untouched.

    An administrator covering only some of a person's units edits those only; a primary membership in a unit
    they do not cover stays primary. Every unit asked for must be covered.
    """
    require_person(session, person_id=person_id)
    wanted = _wanted(session, memberships)
    for unit_id, _ in wanted:
        unit = session.get(Unit, unit_id)
        if unit is not None and not covers(unit):
            raise Forbidden(code="not_directory_admin", detail=f"您不能在单位 {unit.name} 安排任职")
    kept: dict[MembershipKey, bool] = {}
    query = select(Membership, Unit).join(Unit, Unit.id == Membership.unit_id).where(Membership.person_id == person_id)
    for row, unit in session.execute(query.order_by(Membership.id)):
        if unit.active and not covers(unit):
            kept[_key(row)] = row.is_primary
    return _apply_memberships(session, person_id, {**kept, **wanted})  # a kept primary comes first and wins


def set_post_holders(session: Session, *, unit_id: int, post_code: str, person_ids: Sequence[int]) -> list[Person]:
    """Make exactly these members of the unit hold its post (e.g. 分管领导): the others' holding of it ends.

    A person has one membership row per (unit, post) they hold there. Ending a holding never takes the person
    out of the unit: the post row goes only when another membership in the unit remains, otherwise its post is
    cleared. A new holder's post-less row takes the post; failing that a row is added.
    """
    post = ensure_post(session, unit_id=unit_id, code=post_code)
    rows: dict[int, list[Membership]] = defaultdict(list)
    query = select(Membership).where(Membership.unit_id == unit_id).order_by(Membership.id)
    for row in session.scalars(query):
        rows[row.person_id].append(row)
    strangers = [pid for pid in person_ids if pid not in rows]
    if strangers:
        raise refused("holder_not_member", f"只能从本单位人员中选择{post.name}", "leaders")
    wanted = set(person_ids)
    for person_id, mine in rows.items():
        holding = next((row for row in mine if row.post_id == post.id), None)
        if holding is not None and person_id not in wanted:
            if len(mine) > 1:
                session.delete(holding)
                if holding.is_primary:
                    next(row for row in mine if row is not holding).is_primary = True
            else:
                holding.post_id = None
        elif holding is None and person_id in wanted:
            plain = next((row for row in mine if row.post_id is None), None)
            if plain is not None:
                plain.post_id = post.id
            else:
                session.add(Membership(person_id=person_id, unit_id=unit_id, post_id=post.id, is_primary=False))
    session.flush()
    return holders_of_post(session, unit_id=unit_id, post_code=post.code)


def require_person(session: Session, *, person_id: int) -> Person:
    """The person with this id; NotFound otherwise."""
    person = session.get(Person, person_id)
    if person is None:
        raise not_found("person", "人员", person_id)
    return person


def person_by_username(session: Session, *, username: str) -> Person | None:
    """The person with this username, if any (active or not)."""
    return session.scalar(select(Person).where(Person.username == username))


def person_by_employee_code(session: Session, *, employee_code: str) -> Person | None:
    """The person with this employee code (工号), if any."""
    return session.scalar(select(Person).where(Person.employee_code == employee_code))


def people_in_unit(session: Session, *, unit_id: int, post_code: str | None = None) -> list[Person]:
    """Active members of a unit (holding the post, when a post code is given), by employee code."""
    members = select(Membership.person_id).where(Membership.unit_id == unit_id)
    if post_code is not None:
        members = members.join(Post, Post.id == Membership.post_id).where(Post.code == post_code)
    query = select(Person).where(Person.id.in_(members), Person.active.is_(True)).order_by(Person.employee_code)
    return list(session.scalars(query))


def holders_of_post(session: Session, *, unit_id: int, post_code: str) -> list[Person]:
    """Active people holding a post in a unit: the candidates of a task assigned to that post."""
    return people_in_unit(session, unit_id=unit_id, post_code=post_code)


def leader_of(session: Session, *, unit_id: int) -> list[Person]:
    """The unit's 分管领导: whoever holds its ``leader_in_charge`` post."""
    return holders_of_post(session, unit_id=unit_id, post_code=LEADER_IN_CHARGE)


def people_out(session: Session, *, people: Sequence[Person]) -> list[PersonOut]:
    """People as output, each with their memberships (primary first), in one query."""
    query = (
        select(Membership, Unit, Post)
        .join(Unit, Unit.id == Membership.unit_id)
        .outerjoin(Post, Post.id == Membership.post_id)
        .where(Membership.person_id.in_([person.id for person in people]))
        .order_by(Membership.is_primary.desc(), Membership.id)
    )
    memberships: dict[int, list[MembershipOut]] = defaultdict(list)
    for membership, unit, post in session.execute(query):
        memberships[membership.person_id].append(
            MembershipOut(
                id=membership.id,
                unit_id=unit.id,
                unit_code=unit.code,
                unit_name=unit.name,
                unit_active=unit.active,
                post_id=post.id if post else None,
                post_code=post.code if post else None,
                post_name=post.name if post else None,
                is_primary=membership.is_primary,
            )
        )
    return [
        PersonOut.model_validate(person).model_copy(update={"memberships": memberships[person.id]}) for person in people
    ]


def person_out(session: Session, *, person_id: int) -> PersonOut:
    """One person as output; an unknown id is NotFound."""
    return people_out(session, people=[require_person(session, person_id=person_id)])[0]


def _resolve(session: Session, data: MembershipIn) -> tuple[Unit, Post | None]:
    if data.unit_code is not None:
        unit = unit_by_code(session, code=data.unit_code)
        if unit is None:
            raise unknown_reference("unit_code", "单位", data.unit_code)
    else:
        unit = session.get(Unit, data.unit_id)
        if unit is None:
            raise unknown_reference("unit_id", "单位", data.unit_id)
    if not unit.active:
        raise refused("unit_inactive", f"单位“{unit.name}”已停用，不能再加入人员", "unit_code")
    post = ensure_post(session, unit_id=unit.id, code=data.post_code) if data.post_code else None
    return unit, post


def _memberships(session: Session, person_id: int) -> list[Membership]:
    return list(session.scalars(select(Membership).where(Membership.person_id == person_id).order_by(Membership.id)))


def _active_units(session: Session, person_id: int) -> list[Unit]:
    query = select(Unit).join(Membership, Membership.unit_id == Unit.id).where(Membership.person_id == person_id)
    return list(session.scalars(query.where(Unit.active.is_(True)).distinct().order_by(Unit.id)))


def _key(membership: Membership) -> MembershipKey:
    return membership.unit_id, membership.post_id


def _label(unit: Unit, post: Post | None) -> str:
    return f"“{unit.name}”{post.name}" if post else f"“{unit.name}”"


def _check_username_free(session: Session, username: str, *, owner_id: int | None) -> None:
    holder = person_by_username(session, username=username)
    if holder is not None and holder.id != owner_id:
        raise taken("person_username", "用户名", username)


def _wanted(session: Session, memberships: Sequence[MembershipIn]) -> dict[MembershipKey, bool]:
    """The memberships resolved to (unit id, post id) keys, each with its primary flag; duplicates refused."""
    wanted: dict[MembershipKey, bool] = {}
    for data in memberships:
        unit, post = _resolve(session, data)
        key = (unit.id, post.id if post else None)
        if key in wanted:
            raise refused("membership_duplicate", f"任职重复：{_label(unit, post)}", "memberships")
        wanted[key] = data.is_primary
    return wanted


def _apply_memberships(session: Session, person_id: int, wanted: dict[MembershipKey, bool]) -> list[Membership]:
    primary = next((key for key, flagged in wanted.items() if flagged), next(iter(wanted), None))
    current: dict[MembershipKey, Membership] = {}
    query = select(Membership, Unit.active).join(Unit, Unit.id == Membership.unit_id)
    for row, unit_active in session.execute(query.where(Membership.person_id == person_id)):
        if unit_active:
            current[_key(row)] = row
        elif primary is not None:
            row.is_primary = False
    for key, row in current.items():
        if key not in wanted:
            session.delete(row)
    kept = []
    for key in wanted:
        row = current.get(key) or Membership(person_id=person_id, unit_id=key[0], post_id=key[1])
        row.is_primary = key == primary
        session.add(row)
        kept.append(row)
    session.flush()
    return kept
