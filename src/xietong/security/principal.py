"""Principals: who is acting, with the units, posts and role grants the permission predicate needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.directory.models import Membership, Person, Unit
from xietong.errors import Unauthenticated
from xietong.security.models import RoleGrant


@dataclass(frozen=True)
class Grant:
    role: str
    scope_kind: str  # unit_subtree | region | all
    unit_path: str | None = None
    region_id: int | None = None


@dataclass(frozen=True)
class Principal:
    """A person (or client/system) with everything ``can()`` checks, loaded once per request."""

    kind: str
    id: int | None
    name: str = ""
    unit_ids: frozenset[int] = frozenset()
    posts: frozenset[tuple[int, int]] = frozenset()  # (unit_id, post_id)
    grants: tuple[Grant, ...] = ()
    unit_paths: tuple[str, ...] = field(default=())

    def has_role(self, *roles: str) -> bool:
        return any(g.role in roles for g in self.grants)


SYSTEM_PRINCIPAL = Principal(kind="system", id=None, name="系统", grants=(Grant("system", "all"),))


def load_principal(session: Session, person_id: int) -> Principal:
    """Load a person's memberships and role grants (2 queries)."""
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise Unauthenticated(code="person_inactive", detail="账号不存在或已停用")
    rows = session.execute(
        select(Membership.unit_id, Membership.post_id, Unit.path)
        .join(Unit, Unit.id == Membership.unit_id)
        .where(Membership.person_id == person_id)
    ).all()
    grant_rows = session.execute(
        select(RoleGrant.role, RoleGrant.scope_kind, Unit.path, RoleGrant.scope_region_id)
        .outerjoin(Unit, Unit.id == RoleGrant.scope_unit_id)
        .where(RoleGrant.person_id == person_id)
    ).all()
    return Principal(
        kind="person",
        id=person.id,
        name=person.name,
        unit_ids=frozenset(r.unit_id for r in rows),
        posts=frozenset((r.unit_id, r.post_id) for r in rows if r.post_id is not None),
        grants=tuple(Grant(r.role, r.scope_kind, r.path, r.scope_region_id) for r in grant_rows),
        unit_paths=tuple(sorted({r.path for r in rows})),
    )
