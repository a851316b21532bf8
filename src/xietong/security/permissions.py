"""The one permission predicate: ``can(principal, action, case)`` and its query twin ``visible_cases``.

A person reads a case when one of their units takes part in it (applicant, handling unit, a unit that held a
step — the ``case_party`` rows — or a unit that became one of theirs in a 机构改革), when it was copied to them
(``case_grant``), or when a supervisory role's scope covers the case's region or handling unit. Posts decide
where tasks land, never what one may read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, false, or_, select, true

from xietong.cases.models import Case, CaseGrant, CaseParty
from xietong.directory.models import Unit
from xietong.security.principal import Grant, Principal

SUPERVISORY_ROLES = frozenset({"supervisor", "reform_office", "unit_leader", "system"})


@dataclass(frozen=True)
class CaseFacts:
    """What the predicate needs to know about a case (a row of ``case`` has all of it)."""

    id: int
    region_id: int
    handling_unit_id: int
    applicant_unit_id: int
    applicant_person_id: int | None  # None when a client filed the case
    party_units: str
    handling_unit_path: str = ""


@dataclass(frozen=True)
class TaskFacts:
    unit_id: int
    post_id: int | None
    assignee_id: int | None


def parties(case: CaseFacts) -> set[int]:
    return {int(u) for u in case.party_units.strip(",").split(",") if u}


def grant_covers(grant: Grant, *, region_id: int | None, unit_path: str | None) -> bool:
    """Whether a grant's scope covers a target in ``region_id`` handled by the unit at ``unit_path``."""
    if grant.scope_kind == "all":
        return True
    if grant.scope_kind == "region":
        return region_id is not None and grant.region_id == region_id
    if grant.scope_kind == "unit_subtree":
        return bool(unit_path and grant.unit_path and unit_path.startswith(grant.unit_path))
    return False


def _scope_covers(principal: Principal, case: CaseFacts) -> bool:
    return any(
        grant.role in SUPERVISORY_ROLES
        and grant_covers(grant, region_id=case.region_id, unit_path=case.handling_unit_path)
        for grant in principal.grants
    )


def can(
    principal: Principal, action: str, case: CaseFacts, task: TaskFacts | None = None, *, granted: bool = False
) -> bool:
    """Whether ``principal`` may do ``action`` on ``case`` (and ``task``); ``granted`` = has a case grant."""
    if principal.kind == "system":
        return True
    if action == "read":
        return bool(principal.reading_unit_ids & parties(case)) or granted or _scope_covers(principal, case)
    if action in ("accept", "reject", "conclude", "archive"):
        return case.handling_unit_id in principal.unit_ids
    if action == "withdraw":
        return _is_applicant(principal, case)
    if action in ("complete", "claim", "return", "transfer"):
        return task is not None and holds_task(principal, task)
    # Handling operations around the tasks (issue 4): the handling unit, or whoever holds the step.
    if action in ("suspend", "resume"):
        return case.handling_unit_id in principal.unit_ids
    if action in ("supplement", "special_procedure"):
        return case.handling_unit_id in principal.unit_ids or (task is not None and holds_task(principal, task))
    if action == "resubmit":
        return _is_applicant(principal, case)
    if action == "extend":  # 延期: a leader of the handling unit — its leader post (``task``), or a unit_leader grant
        leads = task is not None and task.post_id is not None and (task.unit_id, task.post_id) in principal.posts
        return leads or any(
            g.role == "unit_leader" and grant_covers(g, region_id=None, unit_path=case.handling_unit_path)
            for g in principal.grants
        )
    if action == "change_signers":  # 加签/减签: a signer of the step, or a supervisor over the case
        return (task is not None and holds_task(principal, task)) or _scope_covers(principal, case)
    # --- oversight (xietong.oversight): 催办, 督办 and 整改, 抄送, 评价 -------------------------------------------
    if action in ("urge", "rate", "supervise", "close_order", "answer_order", "copy"):
        applicant = _is_applicant(principal, case)
        oversees = any(  # only these two issue and close orders; a unit leader's scope reads, it does not order
            g.role in ("supervisor", "reform_office")
            and grant_covers(g, region_id=case.region_id, unit_path=case.handling_unit_path)
            for g in principal.grants
        )
        handling = case.handling_unit_id in principal.unit_ids
        return {
            "urge": applicant or oversees,
            "rate": applicant,
            "supervise": oversees,
            "close_order": oversees,
            "answer_order": handling,
            "copy": handling or (task is not None and holds_task(principal, task)),
        }[action]
    return False


def _is_applicant(principal: Principal, case: CaseFacts) -> bool:
    applicant = principal.kind == "person" and principal.id == case.applicant_person_id
    return applicant or case.applicant_unit_id in principal.unit_ids


def holds_task(principal: Principal, task: TaskFacts) -> bool:
    """The task is this person's, or shared by a post they hold and not yet claimed by someone else; for an
    application client (``tasks:act``), a task of its units that no person has claimed."""
    if principal.kind == "client":  # a client's id is no person id: it never matches an assignee
        return task.assignee_id is None and task.unit_id in principal.unit_ids
    if principal.kind != "person":
        return False
    if task.assignee_id is not None:
        return task.assignee_id == principal.id
    return task.post_id is not None and (task.unit_id, task.post_id) in principal.posts


def visible_cases(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause over ``case`` selecting exactly the cases ``can(principal, "read", …)`` allows."""
    if principal.kind == "system":
        return true()
    scope = _supervised_clauses(principal)
    if scope is None:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.reading_unit_ids:
        clauses.append(Case.id.in_(select(CaseParty.case_id).where(CaseParty.unit_id.in_(principal.reading_unit_ids))))
    if principal.kind == "person" and principal.id is not None:  # a client id is no person id
        clauses.append(Case.id.in_(select(CaseGrant.case_id).where(CaseGrant.person_id == principal.id)))
    clauses += scope
    return or_(*clauses) if clauses else false()


def supervised_cases(principal: Principal) -> ColumnElement[bool]:
    """The part of ``visible_cases`` that supervisory roles' scopes give: what monitoring counts.

    Taking part in a case or having it copied lets one read it, but does not make it one's to count.
    """
    if principal.kind == "system":
        return true()
    if principal.kind == "client":  # ``stats:read``: the cases its units handle
        return Case.handling_unit_id.in_(sorted(principal.unit_ids)) if principal.unit_ids else false()
    scope = _supervised_clauses(principal)
    if scope is None:
        return true()
    return or_(*scope) if scope else false()


def may_supervise(principal: Principal) -> bool:
    """Whether any supervisory role is granted at all (monitoring's figures are for these roles only); an
    application client reaches monitoring only with ``stats:read`` (the route allow-list) and counts its units'."""
    if principal.kind == "client":
        return bool(principal.unit_ids)
    return principal.kind == "system" or any(g.role in SUPERVISORY_ROLES for g in principal.grants)


def _supervised_clauses(principal: Principal) -> list[ColumnElement[bool]] | None:
    """One clause per supervisory grant; None when one of them covers everything."""
    clauses: list[ColumnElement[bool]] = []
    for grant in principal.grants:
        if grant.role not in SUPERVISORY_ROLES:
            continue
        if grant.scope_kind == "all":
            return None
        if grant.scope_kind == "region" and grant.region_id is not None:
            clauses.append(Case.region_id == grant.region_id)
        if grant.scope_kind == "unit_subtree" and grant.unit_path:
            clauses.append(Case.handling_unit_id.in_(select(Unit.id).where(Unit.path.startswith(grant.unit_path))))
    return clauses


# --- administration -------------------------------------------------------------------------------------------

# Which roles administer what (三员分立: the security and audit administrators are not among the first two).
ADMIN_ROLES: dict[str, frozenset[str]] = {
    "directory": frozenset({"system_admin"}),
    "catalog": frozenset({"system_admin", "reform_office"}),
    "accounts": frozenset({"security_admin"}),
    "calendar": frozenset({"system_admin"}),
    "dataservice": frozenset({"system_admin"}),  # application clients and their webhooks
    "integrations": frozenset({"system_admin"}),  # outside systems: health, dead messages, replay and skip
}


def may_administer(
    principal: Principal, area: str, *, region_id: int | None = None, unit_path: str | None = None
) -> bool:
    """Whether a role for ``area`` covers the target: everything, its region, or a unit subtree holding it.

    With neither ``region_id`` nor ``unit_path`` (e.g. creating a region) only an ``all`` scope covers.
    """
    if principal.kind == "system":
        return True
    return any(
        grant.role in ADMIN_ROLES[area] and grant_covers(grant, region_id=region_id, unit_path=unit_path)
        for grant in principal.grants
    )


class Placed(Protocol):
    """Where a unit sits: its region and its materialised path (a ``Unit`` row or a ``UnitOut``)."""

    region_id: int
    path: str


def may_administer_unit(principal: Principal, area: str, unit: Placed) -> bool:
    """Whether a role for ``area`` covers this unit (its region, or a subtree holding it)."""
    return may_administer(principal, area, region_id=unit.region_id, unit_path=unit.path)


def may_administer_person(principal: Principal, area: str, units: Iterable[Placed]) -> bool:
    """A person is administered by whoever administers one of their units, or everything."""
    return any(may_administer_unit(principal, area, unit) for unit in units) or may_administer(principal, area)


def administers_some(principal: Principal, area: str) -> bool:
    """Whether any role of ``principal`` administers ``area`` somewhere (the admin navigation shows it)."""
    return principal.kind == "system" or any(grant.role in ADMIN_ROLES[area] for grant in principal.grants)
