"""评价: the applicant rates a concluded case once; a bad rating opens a 整改 order to the handling unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from xietong.cases.enums import CaseStatus
from xietong.cases.service.common import Operation, lock_case, require
from xietong.clock.due import due_at
from xietong.db.base import utcnow
from xietong.errors import Conflict, InvalidInput
from xietong.oversight.enums import BAD_LEVELS, LEVEL_LABELS
from xietong.oversight.models import Rating
from xietong.oversight.service.common import actor, clean_text
from xietong.oversight.service.orders import new_order
from xietong.security.principal import Principal
from xietong.system.calendar import work_calendar

RATING = Rating.__table__
RATEABLE = frozenset({CaseStatus.CONCLUDED, CaseStatus.ARCHIVED})
RECTIFICATION_DAYS = 5


@dataclass(frozen=True)
class Rated:
    rating_id: int
    rectification_id: int | None


def rate_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    level: str,
    comment: str = "",
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
    rectification_days: int = RECTIFICATION_DAYS,
) -> Rated:
    """评价 a concluded case (once); 不满意 and 非常不满意 need a comment and open a 整改 order."""
    if level not in LEVEL_LABELS:
        raise InvalidInput(code="bad_level", detail="评价等级只能是：" + "、".join(LEVEL_LABELS.values()))
    bad = level in BAD_LEVELS
    comment = clean_text(comment, field="comment", label="评价意见（不满意时必填）", required=bad, limit=1000)
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, "rate", row)
    if row["status"] not in RATEABLE:
        raise Conflict(code="wrong_case_status", detail="办件办结后才能评价", extra={"status": row["status"]})
    conn = session.connection()
    if conn.execute(select(RATING.c.id).where(RATING.c.case_id == case_id)).first() is not None:
        raise Conflict(code="already_rated", detail="该办件已评价过，每个办件只能评价一次")
    op = Operation(session, row, actor(principal), now, tz)
    section: dict[str, Any] = {"level": level, "comment": comment}
    inserts: list[Any] = []
    order_id = None
    if bad:
        deadline = due_at(now, rectification_days, work_calendar(conn, tz))
        content = f"差评整改（{LEVEL_LABELS[level]}）：{comment}"
        order, inserts = new_order(op, kind="rectification", content=content, deadline_at=deadline, issued_by_id=None)
        order_id = int(order["id"])
        section["order"] = order
    rating_id = conn.execute(
        insert(RATING)
        .values(case_id=case_id, by_id=principal.id, level=level, comment=comment, at=now, rectification_id=order_id)
        .returning(RATING.c.id)
    ).scalar_one()
    section["id"] = rating_id
    op.finish("case.rated", delta={"oversight": {"rating": section}}, inserts=inserts)
    return Rated(int(rating_id), order_id)
