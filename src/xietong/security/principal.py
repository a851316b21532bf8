"""Principals: who is acting, with the units, posts and role grants the permission predicate needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from xietong.db import fastpath
from xietong.directory.models import Membership, Person, Unit, UnitLineage
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
    """A person (or client/system) with everything ``can()`` checks, loaded once per request.

    A client (``kind="client"``, ``id`` = ``api_client.id``) has its units and scopes and no posts or grants.
    """

    kind: str
    id: int | None
    name: str = ""
    unit_ids: frozenset[int] = frozenset()
    posts: frozenset[tuple[int, int]] = frozenset()  # (unit_id, post_id)
    grants: tuple[Grant, ...] = ()
    unit_paths: tuple[str, ...] = field(default=())
    scopes: frozenset[str] = frozenset()  # a client's granted scopes (xietong.dataservice.scopes); unused for persons
    # Units that became one of ``unit_ids`` in a 机构改革 (merges and splits, followed back through chains): their
    # cases stay theirs (closed cases are never rewritten), and the successor's people read them — read only.
    heir_unit_ids: frozenset[int] = frozenset()

    @property
    def reading_unit_ids(self) -> frozenset[int]:
        """The units whose cases this principal reads as a party: its own and those it is the heir of."""
        return self.unit_ids | self.heir_unit_ids if self.heir_unit_ids else self.unit_ids

    def has_role(self, *roles: str) -> bool:
        return any(g.role in roles for g in self.grants)


SYSTEM_PRINCIPAL = Principal(kind="system", id=None, name="系统", grants=(Grant("system", "all"),))

_PERSON = Person.__table__
_MEMBERSHIP = Membership.__table__
_GRANT = RoleGrant.__table__
_MEMBER_UNIT = Unit.__table__.alias("member_unit")
_GRANT_UNIT = Unit.__table__.alias("grant_unit")
_PERSON_ID = bindparam("person_id")
_LINEAGE = UnitLineage.__table__
_HEIRS = (  # the predecessors of the person's units, and theirs, …; a rename (an edge to itself) adds nothing
    select(_LINEAGE.c.predecessor_id.label("unit_id"))
    .where(_LINEAGE.c.successor_id.in_(select(_MEMBERSHIP.c.unit_id).where(_MEMBERSHIP.c.person_id == _PERSON_ID)),
           _LINEAGE.c.predecessor_id != _LINEAGE.c.successor_id)
    .cte("heirs", recursive=True)
)
_HEIRS = _HEIRS.union(
    select(_LINEAGE.c.predecessor_id).join(_HEIRS, _LINEAGE.c.successor_id == _HEIRS.c.unit_id)
    .where(_LINEAGE.c.predecessor_id != _LINEAGE.c.successor_id)
)

# One round trip: kind 0 rows are the person with each membership (one row with no membership if
# there is none), kind 1 rows are the role grants, kind 2 rows the units the person's units succeeded.
# Columns are shared: ``word`` is the person's name or the role, ``num`` the membership's unit, the
# grant's region or the predecessor unit, ``post`` the post or the grant's scope kind.
_LOAD = union_all(
    select(
        literal_column("0").label("k"),
        _MEMBERSHIP.c.id.label("o"),
        _PERSON.c.name.label("word"),
        _PERSON.c.active.label("active"),
        _MEMBERSHIP.c.unit_id.label("num"),
        _MEMBERSHIP.c.post_id.label("post"),
        null().label("scope_kind"),
        _MEMBER_UNIT.c.path.label("path"),
    )
    .select_from(
        _PERSON.outerjoin(_MEMBERSHIP, _MEMBERSHIP.c.person_id == _PERSON.c.id).outerjoin(
            _MEMBER_UNIT, _MEMBER_UNIT.c.id == _MEMBERSHIP.c.unit_id
        )
    )
    .where(_PERSON.c.id == _PERSON_ID),
    select(
        literal_column("1"),
        _GRANT.c.id,
        _GRANT.c.role,
        null(),
        _GRANT.c.scope_region_id,
        null(),
        _GRANT.c.scope_kind,
        _GRANT_UNIT.c.path,
    )
    .select_from(_GRANT.outerjoin(_GRANT_UNIT, _GRANT_UNIT.c.id == _GRANT.c.scope_unit_id))
    .where(_GRANT.c.person_id == _PERSON_ID),
    select(literal_column("2"), null(), null(), null(), _HEIRS.c.unit_id, null(), null(), null()),
).order_by(literal_column("k"), literal_column("o"))


def load_principal(session: Session, person_id: int) -> Principal:
    """Load a person with their memberships, role grants and the units theirs succeeded (one query)."""
    rows = fastpath.execute(session.connection(), _LOAD, {"person_id": person_id}).tuples()
    if not rows or rows[0][0] != 0 or not rows[0][3]:
        raise Unauthenticated(code="person_inactive", detail="账号不存在或已停用")
    memberships = [r for r in rows if r[0] == 0 and r[4] is not None]
    unit_ids = frozenset(r[4] for r in memberships)
    return Principal(
        kind="person",
        id=person_id,
        name=rows[0][2],
        unit_ids=unit_ids,
        posts=frozenset((r[4], r[5]) for r in memberships if r[5] is not None),
        grants=tuple(Grant(r[2], r[6], r[7], r[4]) for r in rows if r[0] == 1),
        unit_paths=tuple(sorted({r[7] for r in memberships})),
        heir_unit_ids=frozenset(r[4] for r in rows if r[0] == 2) - unit_ids,
    )
