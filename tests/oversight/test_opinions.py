"""常用意见: a person's own phrases — order, add, edit, delete, reorder, and the limits."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories import make_city
from xietong.errors import Conflict, InvalidInput, NotFound
from xietong.oversight.service import add_opinion, delete_opinion, edit_opinion, reorder_opinions, saved_opinions
from xietong.oversight.service import opinions as phrases
from xietong.security.principal import SYSTEM_PRINCIPAL


def _texts(session: Session, principal) -> list[str]:  # type: ignore[no-untyped-def]
    return [o.text for o in saved_opinions(session, principal=principal)]


def test_a_person_keeps_an_ordered_list_of_phrases(session: Session) -> None:
    city = make_city(session)
    me = city.principal(session, "finance", "section_chief")
    first = add_opinion(session, principal=me, text=" 同意 ")
    second = add_opinion(session, principal=me, text="不同意，材料不全")
    third = add_opinion(session, principal=me, text="请补充说明")
    assert _texts(session, me) == ["同意", "不同意，材料不全", "请补充说明"]
    edit_opinion(session, principal=me, opinion_id=second.id, text="不同意，请补正材料")
    reorder_opinions(session, principal=me, ids=[third.id, first.id, second.id])
    assert _texts(session, me) == ["请补充说明", "同意", "不同意，请补正材料"]
    delete_opinion(session, principal=me, opinion_id=first.id)
    assert _texts(session, me) == ["请补充说明", "不同意，请补正材料"]
    assert add_opinion(session, principal=me, text="同意").position == 4  # a new phrase goes last


def test_phrases_are_private(session: Session) -> None:
    city = make_city(session)
    me, other = city.principal(session, "finance"), city.principal(session, "finance", "clerk", 1)
    mine = add_opinion(session, principal=me, text="同意")
    assert _texts(session, other) == []
    for attempt in (lambda: edit_opinion(session, principal=other, opinion_id=mine.id, text="改"),
                    lambda: delete_opinion(session, principal=other, opinion_id=mine.id)):
        with pytest.raises(NotFound) as missing:
            attempt()
        assert missing.value.code == "opinion_not_found"
    with pytest.raises(InvalidInput):
        reorder_opinions(session, principal=other, ids=[mine.id])
    assert _texts(session, me) == ["同意"]
    with pytest.raises(InvalidInput) as system:
        saved_opinions(session, principal=SYSTEM_PRINCIPAL)
    assert system.value.code == "person_only"


def test_limits_on_text_count_duplicates_and_order(session: Session) -> None:
    city = make_city(session)
    me = city.principal(session, "office")
    for text, code in (("", "text_required"), ("意" * 501, "text_too_long")):
        with pytest.raises(InvalidInput) as invalid:
            add_opinion(session, principal=me, text=text)
        assert invalid.value.code == code
    kept = [add_opinion(session, principal=me, text=f"意见{i}") for i in range(phrases.MAX_OPINIONS)]
    with pytest.raises(Conflict) as full:
        add_opinion(session, principal=me, text="再多一条")
    assert full.value.code == "too_many_opinions"
    delete_opinion(session, principal=me, opinion_id=kept[0].id)
    with pytest.raises(Conflict) as duplicate:
        add_opinion(session, principal=me, text="意见1")
    assert duplicate.value.code == "duplicate_opinion"
    with pytest.raises(Conflict):
        edit_opinion(session, principal=me, opinion_id=kept[1].id, text="意见2")
    ids = [o.id for o in kept[1:]]
    for bad in (ids[:-1], [*ids, ids[0]], [*ids[:-1], 10**9]):
        with pytest.raises(InvalidInput) as order:
            reorder_opinions(session, principal=me, ids=bad)
        assert order.value.code == "bad_order"
    assert _texts(session, me) == [f"意见{i}" for i in range(1, phrases.MAX_OPINIONS)]
