"""Account administration: the roles there are, granting and revoking them with a scope, unlocking, listing.

三员分立 (separated administration): the system, security and audit administrators are three different
people — no one holds two of these roles; role grants are the security administrator's (or the
operator's, at the command line); and no one grants or revokes their own roles, so none can give
itself another's rights. Reading the audit trail is the audit administrator's alone
(``security/audit.py``).

Passwords themselves are set through ``xietong.security.passwords.set_password``; an administrator resets a
person's to a generated initial one (``reset_password``) that must be changed at the next log-in.
"""

from __future__ import annotations

import secrets
import string
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from xietong.db.base import utcnow
from xietong.directory.models import Membership, Person, Region, Unit
from xietong.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from xietong.pagination import DEFAULT_LIMIT, check_limit, decode_cursor, encode_cursor
from xietong.security.models import ApiToken, AuditRecord, Credential, RoleGrant, SecondFactor, WebSession
from xietong.security.passwords import configured_rule, password_problems, set_password
from xietong.security.permissions import ADMIN_ROLES, may_administer, may_administer_person
from xietong.security.principal import Principal

#: Roles (角色) and their Chinese names; a role is granted with a scope, unlike a post (岗位).
ROLES: dict[str, str] = {
    "clerk": "经办人",
    "handler": "承办人",
    "unit_leader": "单位领导",
    "supervisor": "效能监督",
    "reform_office": "改革办",
    "system_admin": "系统管理员",
    "security_admin": "安全管理员",
    "audit_admin": "审计管理员",
}
SCOPE_KINDS: dict[str, str] = {"unit_subtree": "单位及下级", "region": "行政区划", "all": "全部"}
#: The three administrators of 三员分立: one person holds at most one of them.
ADMIN_TRIAD = frozenset({"system_admin", "security_admin", "audit_admin"})


@dataclass(frozen=True)
class ScopeRef:
    """A grant's scope: ``unit_subtree`` names a unit, ``region`` a region, ``all`` nothing."""

    kind: str
    unit_id: int | None = None
    region_id: int | None = None


@dataclass(frozen=True)
class GrantRow:
    id: int
    role: str
    scope_kind: str
    scope_label: str  # "单位及下级：丽水市财政局", "全部"
    unit_id: int | None = None
    region_id: int | None = None  # the scope's region, or the region its unit lies in
    unit_path: str | None = None


@dataclass(frozen=True)
class Account:
    """One person as an account administrator sees them."""

    person_id: int
    username: str
    name: str
    employee_code: str
    active: bool
    units: tuple[str, ...]
    grants: tuple[GrantRow, ...]
    has_password: bool
    must_change: bool
    locked_until: datetime | None
    failed_count: int
    second_factor: bool = False  # a confirmed TOTP
    last_login_at: datetime | None = None  # the latest successful log-in still in the audit trail

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def grant_role(
    session: Session, *, person_id: int, role: str, scope: ScopeRef, granted_by: Principal | None = None
) -> RoleGrant:
    """Give a person a role with a scope; granting the same role and scope again changes nothing.

    ``granted_by`` is the person granting (None: the operator at the command line)."""
    _require_person(session, person_id)
    _check_role(role)
    _check_scope(session, scope)
    _check_grantor(session, granted_by, person_id, scope)
    if role in ADMIN_TRIAD:
        held = set(session.scalars(select(RoleGrant.role).where(RoleGrant.person_id == person_id))) & ADMIN_TRIAD
        other = held - {role}
        if other:
            raise Conflict(
                code="separation_of_duties",
                detail=f"三员分立：该人员已是{ROLES[sorted(other)[0]]}，不能再担任{ROLES[role]}",
            )
    existing = session.scalar(select(RoleGrant).where(RoleGrant.person_id == person_id, _same(role, scope)))
    if existing is not None:
        return existing
    grant = RoleGrant(
        person_id=person_id,
        role=role,
        scope_kind=scope.kind,
        scope_unit_id=scope.unit_id,
        scope_region_id=scope.region_id,
    )
    session.add(grant)
    session.flush()
    return grant


def revoke_role(
    session: Session, *, person_id: int, role: str, scope: ScopeRef | None = None, revoked_by: Principal | None = None
) -> int:
    """Take a role back (only the grant of this scope, when one is given); returns how many grants went."""
    _require_person(session, person_id)
    _check_role(role)
    _check_grantor(session, revoked_by, person_id, scope or ScopeRef("all"))
    condition = _same(role, scope) if scope is not None else RoleGrant.role == role
    result = session.execute(delete(RoleGrant).where(RoleGrant.person_id == person_id, condition))
    removed = int(cast("CursorResult[Any]", result).rowcount)
    if not removed:
        raise NotFound(code="grant_not_found", detail=f"该人员没有这一角色授权：{ROLES[role]}")
    return removed


def revoke_grant(session: Session, *, person_id: int, grant_id: int, revoked_by: Principal | None = None) -> RoleGrant:
    """Take back one grant of a person (its role in its scope), under the same checks as ``revoke_role``."""
    grant = session.get(RoleGrant, grant_id)
    if grant is None or grant.person_id != person_id:
        raise NotFound(code="grant_not_found", detail="该人员没有这一角色授权")
    scope = ScopeRef(grant.scope_kind, grant.scope_unit_id, grant.scope_region_id)
    revoke_role(session, person_id=person_id, role=grant.role, scope=scope, revoked_by=revoked_by)
    return grant


def unlock_account(session: Session, *, person_id: int, unlocked_by: Principal | None = None) -> Credential:
    """Clear a lock-out after too many failed log-ins (``unlocked_by``: the security administrator doing it)."""
    _check_account_admin(session, unlocked_by, _require_person(session, person_id))
    credential = session.get(Credential, person_id)
    if credential is None:
        raise NotFound(code="credential_not_found", detail="该人员还没有本地密码，无需解锁")
    credential.failed_count = 0
    credential.locked_until = None
    session.flush()
    return credential


def reset_password(session: Session, *, person_id: int, reset_by: Principal | None = None) -> str:
    """Give a person a generated initial password, to be changed at the next log-in; their browser sessions end.

    Returns the password, to be handed over once: only its hash is kept."""
    person = _require_person(session, person_id)
    _check_account_admin(session, reset_by, person)
    password = initial_password(person.username)
    set_password(session, person_id=person.id, password=password, username=person.username, must_change=True)
    session.execute(delete(WebSession).where(WebSession.person_id == person.id))
    session.execute(update(ApiToken).where(ApiToken.person_id == person.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))  # a reset usually follows a compromise: its tokens go too
    return password


def initial_password(username: str = "") -> str:
    """A random password of every character class that passes the configured rule."""
    alphabet = string.ascii_letters + string.digits + "!#%+-=?@"
    length = max(configured_rule().min_length, 14)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if not password_problems(candidate, username=username) and sum(
            any(ch in group for ch in candidate)
            for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#%+-=?@")
        ) == 4:
            return candidate


def accounts(
    session: Session, *, unit_id: int | None = None, role: str | None = None, locked: bool | None = None,
    keyword: str = "", now: datetime | None = None, limit: int | None = None, person_id: int | None = None,
    viewer: Principal | None = None, after_key: tuple[str, int] | None = None,
) -> list[Account]:
    """People with their units, role grants and log-in state, by user name: in one unit's subtree, holding one
    role, locked out (or not) now, matching a keyword (user name, name or employee code); with ``viewer``, only
    the people in that security administrator's scope; with ``after_key``, those after (user name, id)."""
    query = select(Person, Credential).outerjoin(Credential, Credential.person_id == Person.id)
    if person_id is not None:
        query = query.where(Person.id == person_id)
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        subtree = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True) if unit else false())
        query = query.where(Person.id.in_(select(Membership.person_id).where(Membership.unit_id.in_(subtree))))
    if viewer is not None and (scoped := _scope_of(viewer)) is not None:
        query = query.where(scoped)
    if role is not None:
        query = query.where(Person.id.in_(select(RoleGrant.person_id).where(RoleGrant.role == role)))
    if locked is not None:
        is_locked = Credential.locked_until > (now or utcnow())
        query = query.where(is_locked if locked else or_(Credential.locked_until.is_(None), ~is_locked))
    if keyword.strip():
        word = keyword.strip()
        query = query.where(or_(*(c.contains(word, autoescape=True)
                                  for c in (Person.username, Person.name, Person.employee_code))))
    if after_key is not None:
        query = query.where(or_(Person.username > after_key[0],
                                and_(Person.username == after_key[0], Person.id > after_key[1])))
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query.order_by(Person.username, Person.id)).all()
    ids = [person.id for person, _ in rows]
    units = _units_of(session, ids)
    grants = _grants_of(session, ids)
    enrolled = set(session.scalars(
        select(SecondFactor.person_id).where(SecondFactor.person_id.in_(ids), SecondFactor.confirmed_at.is_not(None))
    )) if ids else set()
    logins = _last_logins(session, ids)
    return [
        Account(
            person_id=person.id,
            username=person.username,
            name=person.name,
            employee_code=person.employee_code,
            active=person.active,
            units=tuple(units[person.id]),
            grants=tuple(grants[person.id]),
            has_password=credential is not None,
            must_change=bool(credential and credential.must_change),
            locked_until=credential.locked_until if credential else None,
            failed_count=credential.failed_count if credential else 0,
            second_factor=person.id in enrolled,
            last_login_at=logins.get(person.id),
        )
        for person, credential in rows
    ]


def accounts_page(session: Session, *, viewer: Principal, cursor: str | None = None, limit: int = DEFAULT_LIMIT,
                  **filters: Any) -> tuple[list[Account], str | None]:
    """One keyset page of ``accounts`` in ``viewer``'s scope (by user name, id) and the next page's cursor."""
    check_limit(limit)
    after_key = cast(tuple[str, int], decode_cursor(cursor, (str, int))) if cursor else None
    rows = accounts(session, viewer=viewer, after_key=after_key, limit=limit + 1, **filters)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor((rows[-1].username, rows[-1].person_id))


def account(session: Session, *, person_id: int) -> Account:
    """One person's account (NotFound for an unknown id)."""
    _require_person(session, person_id)
    return accounts(session, person_id=person_id)[0]


def _scope_of(viewer: Principal) -> ColumnElement[bool] | None:
    """Who a security administrator's grants cover (a membership in a covered unit); None for everyone."""
    if viewer.kind == "system":
        return None
    grants = [grant for grant in viewer.grants if grant.role in ADMIN_ROLES["accounts"]]
    if any(grant.scope_kind == "all" for grant in grants):
        return None
    covered = [Unit.region_id == grant.region_id for grant in grants
               if grant.scope_kind == "region" and grant.region_id is not None]
    covered += [Unit.path.startswith(grant.unit_path, autoescape=True) for grant in grants
                if grant.scope_kind == "unit_subtree" and grant.unit_path]
    if not covered:
        return false()
    members = select(Membership.person_id).join(Unit, Unit.id == Membership.unit_id).where(or_(*covered))
    return Person.id.in_(members)


def _last_logins(session: Session, ids: list[int]) -> dict[int, datetime]:
    if not ids:
        return {}
    query = (
        select(AuditRecord.actor_id, func.max(AuditRecord.at))
        .where(AuditRecord.actor_kind == "person", AuditRecord.actor_id.in_(ids), AuditRecord.action == "auth.login")
        .group_by(AuditRecord.actor_id)
    )
    return {int(actor_id): at for actor_id, at in session.execute(query) if actor_id is not None}


def _units_of(session: Session, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    query = (
        select(Membership.person_id, Unit.name)
        .join(Unit, Unit.id == Membership.unit_id)
        .where(Membership.person_id.in_(ids))
        .order_by(Membership.is_primary.desc(), Membership.id)
    )
    for person_id, name in session.execute(query):
        if name not in found[person_id]:
            found[person_id].append(name)
    return found


def _grants_of(session: Session, ids: list[int]) -> dict[int, list[GrantRow]]:
    found: dict[int, list[GrantRow]] = defaultdict(list)
    query = (
        select(RoleGrant, Unit.name, Unit.path, Unit.region_id, Region.name)
        .outerjoin(Unit, Unit.id == RoleGrant.scope_unit_id)
        .outerjoin(Region, Region.id == RoleGrant.scope_region_id)
        .where(RoleGrant.person_id.in_(ids))
        .order_by(RoleGrant.id)
    )
    for grant, unit_name, unit_path, unit_region_id, region_name in session.execute(query):
        target = unit_name or region_name
        label = SCOPE_KINDS.get(grant.scope_kind, grant.scope_kind) + (f"：{target}" if target else "")
        found[grant.person_id].append(GrantRow(grant.id, grant.role, grant.scope_kind, label, grant.scope_unit_id,
                                               grant.scope_region_id or unit_region_id, unit_path))
    return found


def _same(role: str, scope: ScopeRef) -> ColumnElement[bool]:
    return and_(
        RoleGrant.role == role,
        RoleGrant.scope_kind == scope.kind,
        RoleGrant.scope_unit_id.is_(None) if scope.unit_id is None else RoleGrant.scope_unit_id == scope.unit_id,
        RoleGrant.scope_region_id.is_(None)
        if scope.region_id is None
        else RoleGrant.scope_region_id == scope.region_id,
    )


def _check_grantor(session: Session, grantor: Principal | None, person_id: int, scope: ScopeRef) -> None:
    """A person changing grants is a security administrator whose scope covers the grant's, and not its holder."""
    region_id, unit_path = scope.region_id, None
    if scope.unit_id is not None:
        unit = session.get(Unit, scope.unit_id)
        region_id, unit_path = (unit.region_id, unit.path) if unit is not None else (None, None)
    refusal = grantor_refusal(grantor, person_id, region_id=region_id, unit_path=unit_path)
    if refusal is not None:
        raise refusal


def grantor_refusal(grantor: Principal | None, person_id: int, *, region_id: int | None,
                    unit_path: str | None) -> Forbidden | None:
    """Why ``grantor`` may not grant or revoke a role of this scope for this person (None: they may)."""
    if grantor is None or grantor.kind == "system":
        return None
    if grantor.id == person_id:
        return Forbidden(code="self_grant", detail="三员分立：不能给自己授予或撤销角色")
    if not may_administer(grantor, "accounts", region_id=region_id, unit_path=unit_path):
        return Forbidden(code="not_security_admin", detail="只有授权范围覆盖该范围的安全管理员可以授予或撤销角色")
    return None


def may_change_grant(grantor: Principal, person_id: int, grant: GrantRow) -> bool:
    """Whether the page offers 撤销 on this grant (the service checks again)."""
    return grantor_refusal(grantor, person_id, region_id=grant.region_id, unit_path=grant.unit_path) is None


def _check_account_admin(session: Session, actor: Principal | None, person: Person) -> None:
    """Unlocking and resetting: a security administrator covering one of the person's units, never their own."""
    if actor is None or actor.kind == "system":
        return
    if actor.id == person.id:
        raise Forbidden(code="self_account", detail="三员分立：不能为自己解锁或重置密码，请在个人设置中修改密码")
    units = session.scalars(select(Unit).join(Membership, Membership.unit_id == Unit.id)
                            .where(Membership.person_id == person.id)).all()
    if not may_administer_person(actor, "accounts", units):
        raise Forbidden(code="not_security_admin", detail="只有授权范围覆盖该人员所在单位的安全管理员可以操作此账号")
    # Whoever resets an account can log in as it: one covering the person's unit must not thereby take over
    # wider rights the person holds elsewhere. Each of the person's grants must be one the actor could give.
    for grant in session.scalars(select(RoleGrant).where(RoleGrant.person_id == person.id)):
        unit = session.get(Unit, grant.scope_unit_id) if grant.scope_unit_id is not None else None
        covered = (grant.scope_kind == "region" and may_administer(actor, "accounts", region_id=grant.scope_region_id)
                   ) or (unit is not None and may_administer(actor, "accounts", region_id=unit.region_id,
                                                               unit_path=unit.path))
        if grant.role in ADMIN_TRIAD or grant.scope_kind == "all" or not covered:
            raise Forbidden(code="privileged_account", detail="该人员拥有超出您授权范围的角色（或是三员之一），"
                                                              "其账号只能由全市安全管理员在命令行处理")


def _require_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(code="person_not_found", detail=f"找不到人员：{person_id}")
    return person


def _check_role(role: str) -> None:
    if role not in ROLES:
        shown = "、".join(ROLES)
        raise _invalid("unknown_role", "role", f"没有这个角色：{role}（可选：{shown}）")


def _check_scope(session: Session, scope: ScopeRef) -> None:
    wants = {"unit_subtree": (True, False), "region": (False, True), "all": (False, False)}.get(scope.kind)
    if wants is None:
        raise _invalid("unknown_scope", "scope", f"授权范围只能是 {'、'.join(SCOPE_KINDS)}")
    if wants != (scope.unit_id is not None, scope.region_id is not None):
        needed = {"unit_subtree": "须指定一个单位", "region": "须指定一个行政区划", "all": "不能再指定单位或区划"}
        raise _invalid("scope_target", "scope", f"授权范围 {scope.kind} {needed[scope.kind]}")
    if scope.unit_id is not None:
        unit = session.get(Unit, scope.unit_id)
        if unit is None or not unit.active:
            raise _invalid("unknown_unit", "unit", f"找不到启用中的单位：{scope.unit_id}")
    if scope.region_id is not None and session.get(Region, scope.region_id) is None:
        raise _invalid("unknown_region", "region", f"找不到行政区划：{scope.region_id}")


def _invalid(code: str, field: str, message: str) -> InvalidInput:
    return InvalidInput(code=code, detail=message, errors=[FieldProblem(field, message, code)])
