"""三员分立: three different people; no one grants their own roles; grants are the security administrator's."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories import make_city
from xietong.directory.models import Person
from xietong.errors import Conflict, Forbidden
from xietong.security import accounts
from xietong.security.accounts import ScopeRef
from xietong.security.passwords import password_problems
from xietong.security.principal import load_principal

ALL = ScopeRef("all")


def _person(session: Session, username: str) -> Person:
    person = Person(employee_code=f"E-{username}", username=username, name=username)
    session.add(person)
    session.flush()
    return person


def test_no_one_holds_two_of_the_three_administrator_roles(session: Session) -> None:
    person = _person(session, "triad_one")
    accounts.grant_role(session, person_id=person.id, role="system_admin", scope=ALL)
    for other in ("security_admin", "audit_admin"):
        with pytest.raises(Conflict) as refused:
            accounts.grant_role(session, person_id=person.id, role=other, scope=ALL)
        assert refused.value.code == "separation_of_duties" and "系统管理员" in refused.value.detail
    accounts.grant_role(session, person_id=person.id, role="system_admin", scope=ALL)  # the same again: fine
    accounts.grant_role(session, person_id=person.id, role="supervisor", scope=ALL)  # not one of the three


def test_a_security_admin_grants_others_but_never_themselves(session: Session) -> None:
    city = make_city(session)
    security = _person(session, "triad_sec")
    accounts.grant_role(session, person_id=security.id, role="security_admin", scope=ALL)
    granter = load_principal(session, security.id)
    with pytest.raises(Forbidden) as own:
        accounts.grant_role(session, person_id=security.id, role="supervisor", scope=ALL, granted_by=granter)
    assert own.value.code == "self_grant"
    with pytest.raises(Forbidden):
        accounts.revoke_role(session, person_id=security.id, role="security_admin", revoked_by=granter)
    clerk = city.people["office.clerk.0"]
    accounts.grant_role(session, person_id=clerk.id, role="audit_admin", scope=ALL, granted_by=granter)
    assert load_principal(session, clerk.id).has_role("audit_admin")


def test_other_administrators_cannot_grant_roles(session: Session) -> None:
    city = make_city(session)
    system, auditor = _person(session, "triad_sys"), _person(session, "triad_aud")
    accounts.grant_role(session, person_id=system.id, role="system_admin", scope=ALL)
    accounts.grant_role(session, person_id=auditor.id, role="audit_admin", scope=ALL)
    target = city.people["office.clerk.1"]
    for who in (system, auditor):
        with pytest.raises(Forbidden) as refused:
            accounts.grant_role(
                session, person_id=target.id, role="supervisor", scope=ALL, granted_by=load_principal(session, who.id)
            )
        assert refused.value.code == "not_security_admin"


def test_a_regional_security_admin_grants_only_within_the_region(session: Session) -> None:
    city, other = make_city(session), make_city(session)
    security = _person(session, "triad_regional")
    here = ScopeRef("region", None, city.region.id)
    accounts.grant_role(session, person_id=security.id, role="security_admin", scope=here)
    granter = load_principal(session, security.id)
    target = city.people["office.clerk.0"]
    accounts.grant_role(session, person_id=target.id, role="supervisor", scope=here, granted_by=granter)
    for beyond in (ALL, ScopeRef("region", None, other.region.id)):
        with pytest.raises(Forbidden):
            accounts.grant_role(session, person_id=target.id, role="supervisor", scope=beyond, granted_by=granter)


def test_unlock_and_reset_are_a_covering_security_admins_and_never_on_oneself(session: Session) -> None:
    city, other = make_city(session), make_city(session)
    security = _person(session, "triad_reset")
    accounts.grant_role(session, person_id=security.id, role="security_admin", scope=ScopeRef(
        "region", region_id=city.region.id))
    actor = load_principal(session, security.id)
    target = city.people["office.clerk.0"]
    password = accounts.reset_password(session, person_id=target.id, reset_by=actor)
    assert accounts.account(session, person_id=target.id).must_change
    assert password_problems(password, username=target.username) == [] and len(password) >= 14
    assert accounts.unlock_account(session, person_id=target.id, unlocked_by=actor).locked_until is None
    with pytest.raises(Forbidden) as own:
        accounts.reset_password(session, person_id=security.id, reset_by=actor)
    assert own.value.code == "self_account"
    with pytest.raises(Forbidden) as beyond:
        accounts.unlock_account(session, person_id=other.people["office.clerk.0"].id, unlocked_by=actor)
    assert beyond.value.code == "not_security_admin"
    # a person of a covered unit who holds wider rights is not for this administrator to take over
    accounts.grant_role(session, person_id=target.id, role="audit_admin", scope=ALL)
    for act in (lambda: accounts.reset_password(session, person_id=target.id, reset_by=actor),
                lambda: accounts.unlock_account(session, person_id=target.id, unlocked_by=actor)):
        with pytest.raises(Forbidden) as wider:
            act()
        assert wider.value.code == "privileged_account"


def test_one_grant_is_revoked_by_its_id_and_the_page_offers_only_covered_ones(session: Session) -> None:
    city, other = make_city(session), make_city(session)
    security = _person(session, "triad_revoke")
    accounts.grant_role(session, person_id=security.id, role="security_admin", scope=ScopeRef(
        "region", region_id=city.region.id))
    actor = load_principal(session, security.id)
    target = city.people["office.clerk.1"]
    here = accounts.grant_role(session, person_id=target.id, role="supervisor",
                               scope=ScopeRef("unit_subtree", unit_id=city.units["finance"].id))
    there = accounts.grant_role(session, person_id=target.id, role="supervisor",
                                scope=ScopeRef("region", region_id=other.region.id))
    rows = {g.id: g for g in accounts.account(session, person_id=target.id).grants}
    assert accounts.may_change_grant(actor, target.id, rows[here.id])
    assert not accounts.may_change_grant(actor, target.id, rows[there.id])
    assert not accounts.may_change_grant(actor, security.id, rows[here.id])  # not on oneself
    with pytest.raises(Forbidden):
        accounts.revoke_grant(session, person_id=target.id, grant_id=there.id, revoked_by=actor)
    accounts.revoke_grant(session, person_id=target.id, grant_id=here.id, revoked_by=actor)
    assert {g.id for g in accounts.account(session, person_id=target.id).grants} == {there.id} | {
        g.id for g in rows.values() if g.role == "handler"}
