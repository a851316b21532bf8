"""常用意见: a person's own saved opinion phrases — list order, add, edit, delete, reorder.

They live here rather than in ``directory`` because they are a handling aid kept per person, not
organisation data; nobody but their owner ever reads them, and no case event records them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from xietong.errors import Conflict, InvalidInput, NotFound
from xietong.oversight.models import SavedOpinion
from xietong.oversight.service.common import clean_text
from xietong.security.principal import Principal

MAX_OPINIONS = 50
MAX_LENGTH = 500


def _owner(principal: Principal) -> int:
    if principal.kind != "person" or principal.id is None:
        raise InvalidInput(code="person_only", detail="常用意见只属于个人账号")
    return principal.id


def _text(text: str) -> str:
    return clean_text(text, field="text", label="意见内容", required=True, limit=MAX_LENGTH)


def saved_opinions(session: Session, *, principal: Principal) -> list[SavedOpinion]:
    """This person's phrases in their order."""
    query = select(SavedOpinion).where(SavedOpinion.person_id == _owner(principal))
    return list(session.scalars(query.order_by(SavedOpinion.position, SavedOpinion.id)))


def _own(session: Session, principal: Principal, opinion_id: int) -> SavedOpinion:
    opinion = session.get(SavedOpinion, opinion_id)
    if opinion is None or opinion.person_id != _owner(principal):  # another's phrase is reported as missing
        raise NotFound(code="opinion_not_found", detail="常用意见不存在")
    return opinion


def _refuse_duplicate(session: Session, person_id: int, text: str, skip: int | None = None) -> None:
    query = select(SavedOpinion.id).where(SavedOpinion.person_id == person_id, SavedOpinion.text == text)
    if skip is not None:
        query = query.where(SavedOpinion.id != skip)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(code="duplicate_opinion", detail="已有相同的常用意见")


def add_opinion(session: Session, *, principal: Principal, text: str) -> SavedOpinion:
    """Add a phrase at the end of the list."""
    person_id, text = _owner(principal), _text(text)
    count, last = session.execute(
        select(func.count(), func.max(SavedOpinion.position)).where(SavedOpinion.person_id == person_id)
    ).one()
    if count >= MAX_OPINIONS:
        raise Conflict(code="too_many_opinions", detail=f"常用意见最多 {MAX_OPINIONS} 条，请先删除不用的")
    _refuse_duplicate(session, person_id, text)
    opinion = SavedOpinion(person_id=person_id, text=text, position=(last or 0) + 1)
    session.add(opinion)
    session.flush()
    return opinion


def edit_opinion(session: Session, *, principal: Principal, opinion_id: int, text: str) -> SavedOpinion:
    """Change a phrase's text; it keeps its place."""
    text = _text(text)
    opinion = _own(session, principal, opinion_id)
    _refuse_duplicate(session, opinion.person_id, text, skip=opinion.id)
    opinion.text = text
    session.flush()
    return opinion


def delete_opinion(session: Session, *, principal: Principal, opinion_id: int) -> None:
    """Remove a phrase."""
    opinion = _own(session, principal, opinion_id)
    session.execute(delete(SavedOpinion).where(SavedOpinion.id == opinion.id))
    session.flush()


def reorder_opinions(session: Session, *, principal: Principal, ids: Sequence[int]) -> None:
    """Put the phrases in the order of ``ids``, which must name each of this person's phrases once."""
    person_id = _owner(principal)
    mine = set(session.scalars(select(SavedOpinion.id).where(SavedOpinion.person_id == person_id)))
    if len(ids) != len(set(ids)) or set(ids) != mine:
        raise InvalidInput(code="bad_order", detail="排序须恰好列出您的每一条常用意见各一次")
    for position, opinion_id in enumerate(ids, start=1):
        session.execute(update(SavedOpinion).where(SavedOpinion.id == opinion_id).values(position=position))
    session.flush()
