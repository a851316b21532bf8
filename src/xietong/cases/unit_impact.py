"""What deactivating (撤销) a unit would leave behind in its whole subtree: the active people who belong there, the
open tasks waiting there, the published matters it handles — shown to the administrator before they confirm."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.catalog.models import LocalMatter
from xietong.directory.models import Membership, Person, Unit
from xietong.directory.service import require_unit
from xietong.engine.models import Task


@dataclass(frozen=True)
class UnitImpact:
    units: int  # the unit and its active descendants
    people: int  # active people with a membership in one of them
    open_tasks: int
    published_matters: int
    matter_names: tuple[str, ...] = ()  # the first few, to name them

    @property
    def leaves_work(self) -> bool:
        return bool(self.people or self.open_tasks or self.published_matters)


def unit_impact(session: Session, *, unit_id: int, named: int = 5) -> UnitImpact:
    """Counts over the unit's active subtree (the rows deactivation would stop using)."""
    unit = require_unit(session, unit_id=unit_id)
    subtree = select(Unit.id).where(Unit.path.startswith(unit.path), Unit.active.is_(True))
    units = session.scalar(select(func.count()).select_from(subtree.subquery())) or 0
    people = session.scalar(
        select(func.count(func.distinct(Membership.person_id)))
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.unit_id.in_(subtree), Person.active.is_(True))
    ) or 0
    tasks = session.scalar(
        select(func.count()).select_from(Task).where(Task.unit_id.in_(subtree), Task.state == "open")
    ) or 0
    matters = select(LocalMatter.name).where(LocalMatter.handling_unit_id.in_(subtree),
                                              LocalMatter.status == "published")
    published = session.scalar(select(func.count()).select_from(matters.subquery())) or 0
    names = tuple(session.scalars(matters.order_by(LocalMatter.name).limit(named)))
    return UnitImpact(units, people, tasks, published, names)
