"""Reading and changing a person's messaging preference (in-app always on; the messaging app on or off)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.db.base import utcnow
from xietong.directory.models import Person
from xietong.errors import Forbidden, NotFound
from xietong.integrations.messaging.models import MessagingPreference
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal


def messaging_enabled(session: Session, *, person_id: int) -> bool:
    row = session.get(MessagingPreference, person_id)
    return True if row is None else row.messaging


def set_messaging(session: Session, *, principal: Principal, person_id: int, enabled: bool) -> bool:
    """Switch the person's messaging-app channel; only the person or a directory administrator may."""
    own = principal.kind == "person" and principal.id == person_id
    if not own and not may_administer(principal, "directory"):
        raise Forbidden(code="messaging_preference_forbidden", detail="只能修改自己的消息接收设置")
    if session.get(Person, person_id) is None:
        raise NotFound(code="person_not_found", detail="没有这个人员")
    row = session.get(MessagingPreference, person_id)
    if row is None:
        row = MessagingPreference(person_id=person_id)
        session.add(row)
    row.messaging, row.updated_at = enabled, utcnow()
    session.flush()
    return enabled


def employee_codes(session: Session, person_ids: Iterable[int]) -> list[str]:
    """The employee codes of the active people among ``person_ids`` who have not switched messaging off."""
    ids = sorted(set(person_ids))
    if not ids:
        return []
    off = select(MessagingPreference.person_id).where(MessagingPreference.messaging.is_(False))
    query = (select(Person.employee_code)
             .where(Person.id.in_(ids), Person.active.is_(True), Person.id.not_in(off)).order_by(Person.id))
    return list(session.scalars(query))
