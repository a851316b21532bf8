"""What every figure is filtered by: a period of local dates (Asia/Shanghai), a region, a unit, a matter.

A period is written ``2026Q3`` (quarter), ``2026-09`` (month), ``2026`` (year) or ``2026-07-01..2026-09-30``
(both days included). Its bounds are the local midnights that start its first day and follow its last one,
given in UTC, so a case concluded at 23:30 on 30 September in Shanghai counts for the third quarter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select

from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter
from xietong.errors import InvalidInput

TZ = "Asia/Shanghai"
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Period:
    """Local days ``first`` through ``last`` (both included), with the label a bulletin prints."""

    first: date
    last: date
    label: str
    kind: str  # quarter | month | year | range

    def bounds(self, tz: str = TZ) -> tuple[datetime, datetime]:
        """The UTC instants [start, end) of the period's local days."""
        zone = ZoneInfo(tz)
        start = datetime.combine(self.first, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        return start, end

    @property
    def title(self) -> str:
        """The period in Chinese: 2026年第3季度, 2026年9月, 2026年, or the two days."""
        if self.kind == "quarter":
            return f"{self.first.year}年第{(self.first.month - 1) // 3 + 1}季度"
        if self.kind == "month":
            return f"{self.first.year}年{self.first.month}月"
        if self.kind == "year":
            return f"{self.first.year}年"
        return f"{self.first:%Y-%m-%d} 至 {self.last:%Y-%m-%d}"


def _bad(text: str) -> InvalidInput:
    return InvalidInput(
        code="bad_period",
        detail=f"统计期间“{text}”无法识别：请写成 2026Q3（季度）、2026-09（月）、2026（年）或 2026-07-01..2026-09-30",
    )


def parse_period(text: str) -> Period:
    """A period from its written form (see the module's docstring); anything else is a clear 422."""
    value = text.strip()
    try:
        if m := _QUARTER.match(value):
            year, quarter = int(m[1]), int(m[2])
            first = date(year, 3 * quarter - 2, 1)
            last = _month_end(date(year, 3 * quarter, 1))
            return Period(first, last, f"{year}Q{quarter}", "quarter")
        if m := _MONTH.match(value):
            first = date(int(m[1]), int(m[2]), 1)
            return Period(first, _month_end(first), f"{first:%Y-%m}", "month")
        if m := _YEAR.match(value):
            year = int(m[1])
            return Period(date(year, 1, 1), date(year, 12, 31), str(year), "year")
        if m := _RANGE.match(value):
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if last < first:
                raise InvalidInput(code="bad_period", detail="统计期间的结束日期不能早于开始日期")
            if (last - first).days > 366 * 5:
                raise InvalidInput(code="bad_period", detail="统计期间最长五年")
            return Period(first, last, value, "range")
    except ValueError as error:
        raise _bad(text) from error
    raise _bad(text)


def _month_end(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


@dataclass(frozen=True)
class Filters:
    """A period and, optionally, one region, one handling unit, one local matter (implementation).

    With ``follow_lineage`` the matter stands for its whole lineage group (docs/granularity.md): a split
    parent's cases count with its children's, a merge's originals' with the joint matter's.
    """

    period: Period
    region_id: int | None = None
    unit_id: int | None = None
    local_matter_id: int | None = None
    tz: str = TZ
    follow_lineage: bool = False

    def matter_clause(self, column: ColumnElement[int]) -> ColumnElement[bool] | None:
        """The matter filter on a local-matter id column (``case.local_matter_id``, ``local_matter.id``)."""
        if self.local_matter_id is None:
            return None
        if not self.follow_lineage:
            return column == self.local_matter_id
        key = select(LocalMatter.lineage_key).where(LocalMatter.id == self.local_matter_id).scalar_subquery()
        return column.in_(select(LocalMatter.id).where(LocalMatter.lineage_key == key))

    def bounds(self) -> tuple[datetime, datetime]:
        return self.period.bounds(self.tz)

    def case_clauses(self) -> list[ColumnElement[bool]]:
        """The region, unit and matter as conditions on ``case`` (a case counts for its handling unit)."""
        clauses: list[ColumnElement[bool]] = []
        if self.region_id is not None:
            clauses.append(Case.region_id == self.region_id)
        if self.unit_id is not None:
            clauses.append(Case.handling_unit_id == self.unit_id)
        if (matter := self.matter_clause(Case.local_matter_id)) is not None:
            clauses.append(matter)
        return clauses

    def described(self) -> dict[str, Any]:
        return {
            "period": self.period.label, "from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
            "region_id": self.region_id, "unit_id": self.unit_id, "local_matter_id": self.local_matter_id,
            "follow_lineage": self.follow_lineage,
        }
