"""The directory part of a reorganisation, in the caller's one transaction: successors created or renamed, and
posts, memberships (leaders hold the ``leader_in_charge`` post, so they follow as posts and people do), local
matters' handling unit, sub-units, unit-scoped role grants and draft applications carried over; the
predecessors retired (their rows stay, inactive: old cases still show their names, nothing new lands there);
one ``unit_lineage`` edge per predecessor and successor.

Local matters keep their codes, although a code carries the implementing unit's USCC: a published version is
immutable and the code is how other systems know the matter, so the lineage says where a code's unit went.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xietong.cases.models import ApplicationDraft
from xietong.catalog.models import LocalMatter
from xietong.directory.models import Membership, Post, Region, Unit, UnitLineage
from xietong.directory.schemas import UnitIn
from xietong.directory.service.posts import ensure_post
from xietong.directory.service.reorganisation.plan import Plan, Resolved, successor_spec
from xietong.directory.service.reorganisation.spec import Kind
from xietong.directory.service.units import _move, create_unit


def restructure(session: Session, resolved: Resolved, plan: Plan, *, by_id: int | None, now: datetime) -> str:
    """Carry out the plan's directory items; returns the reorganisation's key (shared by its lineage edges)."""
    spec = resolved.spec
    before = {u.id: u.name for u in resolved.predecessors}
    if spec.kind is Kind.RENAME:
        unit = resolved.predecessors[0]
        assert spec.name is not None
        unit.name = spec.name
        if spec.short_name is not None:
            unit.short_name = spec.short_name
    else:
        _create_successors(session, resolved)
        targets = {code: unit for code, unit in resolved.targets.items() if unit is not None}
        by_kind: dict[str, dict[int, str]] = {}
        for item in plan.items:
            if item.target is not None and item.id is not None:
                by_kind.setdefault(item.kind, {})[item.id] = item.target
        _posts(session, by_kind.get("post", {}), targets)
        _memberships(session, by_kind.get("membership", {}), targets)
        for kind, model, column in (("matter", LocalMatter, "handling_unit_id"),
                                    ("draft", ApplicationDraft, "applicant_unit_id")):
            for item_id, code in by_kind.get(kind, {}).items():
                session.execute(update(model).where(model.id == item_id).values({column: targets[code].id}))
        for child_id, code in by_kind.get("child", {}).items():
            child = session.get(Unit, child_id)
            assert child is not None
            _move(session, child, targets[code])
        for unit in resolved.predecessors:
            unit.active = False
    session.flush()
    key = uuid.uuid4().hex
    for unit in resolved.predecessors:
        for successor in resolved.targets.values():
            assert successor is not None
            session.add(UnitLineage(reorganisation=key, predecessor_id=unit.id, successor_id=successor.id,
                                    kind=spec.kind.value, predecessor_name=before[unit.id],
                                    successor_name=successor.name, at=now, reason=spec.reason, by_id=by_id))
    session.flush()
    return key


def _create_successors(session: Session, resolved: Resolved) -> None:
    first = resolved.predecessors[0]
    region_code = session.scalar(select(Region.code).where(Region.id == first.region_id))
    parent_code = session.scalar(select(Unit.code).where(Unit.id == first.parent_id)) if first.parent_id else None
    for code, unit in resolved.targets.items():
        if unit is not None:
            continue
        wanted = successor_spec(resolved.spec, code)
        assert wanted.name is not None and region_code is not None
        resolved.targets[code] = create_unit(session, data=UnitIn(
            code=code, name=wanted.name, short_name=wanted.short_name, region_code=region_code,
            parent_code=wanted.parent_code or parent_code, uscc=wanted.uscc,
            # Assignment by function (a unit by function in the case's region) must keep finding the successor.
            function=wanted.function if wanted.function is not None else first.function,
            sort=first.sort))


def _posts(session: Session, posts: dict[int, str], targets: dict[str, Unit]) -> None:
    for post_id, code in posts.items():
        post = session.get(Post, post_id)
        assert post is not None
        ensure_post(session, unit_id=targets[code].id, code=post.code, name=post.name)


def _memberships(session: Session, memberships: dict[int, str], targets: dict[str, Unit]) -> None:
    """Each membership moves to its successor with the post of the same code there (made if missing)."""
    for membership_id, code in memberships.items():
        row = session.get(Membership, membership_id)
        assert row is not None
        unit = targets[code]
        post_id = None
        if row.post_id is not None:
            old = session.get(Post, row.post_id)
            assert old is not None
            post_id = ensure_post(session, unit_id=unit.id, code=old.code, name=old.name).id
        held = session.scalar(select(Membership).where(
            Membership.person_id == row.person_id, Membership.unit_id == unit.id,
            Membership.post_id.is_(None) if post_id is None else Membership.post_id == post_id))
        if held is not None:  # merged units both had the person in that post: one membership remains
            held.is_primary = held.is_primary or row.is_primary
            session.delete(row)
        else:
            row.unit_id, row.post_id = unit.id, post_id
        session.flush()
