"""A few re-cut matters in the demo city, made through the real operations after the history: one base matter
split into two sub-items (its implementations each split too), and two matters of different units in one
county merged into one joint matter (一件事) — so the monitor's "follow lineage" figures have something to show."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.catalog.granularity import SubItem, split_matter
from xietong.catalog.merging import merge_matters
from xietong.catalog.models import BaseMatter, LocalMatter, MatterVersion
from xietong.errors import DomainError

MERGED_CODE = "YJS-DEMO-0001"


@dataclass(frozen=True)
class Recut:
    split: list[str]  # the new sub-items' base codes
    merged: str | None  # the joint matter's code


def recut(session: Session) -> Recut:
    """Split one matter and merge two; each attempt in a savepoint, so a candidate that does not fit is skipped."""
    return Recut(split=_split(session), merged=_merge(session))


def _split(session: Session) -> list[str]:
    counts = (select(LocalMatter.base_matter_id, func.count().label("n"))
              .where(LocalMatter.status == "published").group_by(LocalMatter.base_matter_id).subquery())
    candidates = session.execute(
        select(BaseMatter.id, BaseMatter.code).join(counts, counts.c.base_matter_id == BaseMatter.id)
        .where(BaseMatter.parent_id.is_(None)).order_by(counts.c.n.desc(), BaseMatter.code).limit(5)
    ).all()
    for base_id, _code in candidates:
        common = _common_materials(session, base_id)
        items = [SubItem("首次办理", materials=common[:1] or None), SubItem("变更办理")]
        try:
            with session.begin_nested():
                result = split_matter(session, base_matter_id=base_id, items=items, reason="演示：按办理情形细化",
                                      by_id=None, publish=True)
        except DomainError:
            continue
        return [c.code for c in result.plan.children]
    return []


def _common_materials(session: Session, base_id: int) -> tuple[str, ...]:
    lists = session.scalars(
        select(MatterVersion.materials).join(LocalMatter, LocalMatter.id == MatterVersion.local_matter_id)
        .where(LocalMatter.base_matter_id == base_id, MatterVersion.status == "published")
    ).all()
    codes = [[m["code"] for m in materials] for materials in lists]
    return tuple(c for c in codes[0] if all(c in other for other in codes[1:])) if codes else ()


def _merge(session: Session) -> str | None:
    rows = session.execute(
        select(LocalMatter.id, LocalMatter.region_id, LocalMatter.handling_unit_id)
        .join(BaseMatter, BaseMatter.id == LocalMatter.base_matter_id)
        .where(LocalMatter.status == "published", BaseMatter.parent_id.is_(None), BaseMatter.level.is_(None))
        .order_by(LocalMatter.region_id.desc(), LocalMatter.code).limit(200)
    ).all()
    for first in rows:
        for second in rows:
            if second.region_id != first.region_id or second.handling_unit_id == first.handling_unit_id:
                continue
            try:
                with session.begin_nested():
                    merge_matters(session, local_matter_ids=[first.id, second.id], code=MERGED_CODE,
                                  name="企业开办一件事（演示）", reason="演示：一件事改革", by_id=None, publish=True)
            except DomainError:
                continue
            return MERGED_CODE
    return None
