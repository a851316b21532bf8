"""抄送: who may copy a case, that each person is copied once, and the read receipts the copier sees."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_flow import decide, open_tasks
from tests.factories import make_city
from tests.oversight.helpers import assert_replays, events, last_message, running_case
from xietong.cases import queries as case_queries
from xietong.cases.models import CaseGrant
from xietong.db.base import utcnow
from xietong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xietong.oversight import queries
from xietong.oversight.service import copy_case, mark_copy_read
from xietong.oversight.service.copies import copy_unread


def test_a_handler_copies_the_case_and_the_copied_person_reads_it(session: Session) -> None:
    city, case_id = running_case(session)
    copier = city.principal(session, "staffing")
    reader = city.principal(session, "hr_social", "head")
    other = city.person("big_data", "clerk")
    with pytest.raises(NotFound):  # before the copy the case is not theirs to see
        case_queries.case_detail(session, principal=reader, case_id=case_id)
    assert copy_case(session, principal=copier, case_id=case_id, person_ids=[reader.id, other.id], note="请知悉")
    grants = session.scalars(select(CaseGrant).where(CaseGrant.case_id == case_id, CaseGrant.kind == "copy")).all()
    assert sorted(g.person_id for g in grants) == sorted([reader.id, other.id])
    assert {g.granted_by_id for g in grants} == {copier.id} and {g.read_at for g in grants} == {None}
    event = events(session, case_id)[-1]
    assert event.type == "case.copied" and event.delta["oversight"]["copy"]["note"] == "请知悉"
    assert last_message(session, "case.copied", case_id).payload["person_ids"] == sorted([reader.id, other.id])

    detail = case_queries.case_detail(session, principal=reader, case_id=case_id)
    assert detail.actions == [] and detail.task_actions == {}  # may read, may not act
    mine = queries.copied_to_me(session, principal=reader, unread=True)
    assert [i.case_id for i in mine.items] == [case_id]
    assert copy_unread(session, principal=reader, case_id=case_id)
    now = utcnow()
    assert mark_copy_read(session, principal=reader, case_id=case_id, now=now)
    assert not mark_copy_read(session, principal=reader, case_id=case_id, now=utcnow())  # the first read counts
    assert queries.copied_to_me(session, principal=reader, unread=True).items == []
    [read] = queries.copied_to_me(session, principal=reader, unread=False).items
    assert read.read_at == now and read.granted_by_name == copier.name
    receipts = {c.person_id: c.read_at for c in queries.case_copies(session, principal=copier, case_id=case_id)}
    assert receipts == {reader.id: now, other.id: None}
    assert_replays(session, case_id)


def test_a_person_is_copied_once(session: Session) -> None:
    city, case_id = running_case(session)
    copier = city.principal(session, "staffing")
    first, second = city.person("finance", "head"), city.person("hr_social", "head")
    copy_case(session, principal=copier, case_id=case_id, person_ids=[first.id])
    assert copy_case(session, principal=copier, case_id=case_id, person_ids=[first.id, second.id]) == [second.id]
    before = len(events(session, case_id))
    with pytest.raises(Conflict) as refused:
        copy_case(session, principal=copier, case_id=case_id, person_ids=[first.id, second.id])
    assert refused.value.code == "already_copied" and len(events(session, case_id)) == before


def test_the_holder_of_a_task_in_another_unit_may_copy(session: Session) -> None:
    city, case_id = running_case(session)
    decide(session, city, open_tasks(session, case_id)[0])  # now finance, hr_social and big_data review
    reviewer = city.principal(session, "finance", "section_chief")
    target = city.person("finance", "head")
    assert copy_case(session, principal=reviewer, case_id=case_id, person_ids=[target.id]) == [target.id]
    assert [c.person_id for c in queries.case_copies(session, principal=reviewer, case_id=case_id)] == [target.id]
    with pytest.raises(Forbidden):  # a colleague holding no task of the case is no copier
        copy_case(session, principal=city.principal(session, "finance", "head", 1), case_id=case_id,
                  person_ids=[city.person("office", "head").id])


def test_the_applicant_and_strangers_may_not_copy_and_bad_lists_are_refused(session: Session) -> None:
    city, case_id = running_case(session)
    target = city.person("finance", "head").id
    with pytest.raises(Forbidden) as refused:  # the applicant reads the case, copies nothing
        copy_case(session, principal=city.principal(session, "office"), case_id=case_id, person_ids=[target])
    assert refused.value.code == "not_allowed"
    with pytest.raises(NotFound) as hidden:  # to a stranger the case does not exist
        copy_case(session, principal=make_city(session).principal(session, "staffing"), case_id=case_id,
                  person_ids=[target])
    assert hidden.value.code == "case_not_found"
    copier = city.principal(session, "staffing")
    for person_ids, code in (([], "no_recipients"), ([copier.id], "no_recipients"),
                             (list(range(10**9, 10**9 + 51)), "too_many_recipients"),
                             ([target, 10**9], "unknown_person")):
        with pytest.raises(InvalidInput) as invalid:
            copy_case(session, principal=copier, case_id=case_id, person_ids=person_ids)
        assert invalid.value.code == code
    assert session.scalars(select(CaseGrant).where(CaseGrant.case_id == case_id)).all() == []
    with pytest.raises(Forbidden):  # the applicant reads the case but did not copy it
        queries.case_copies(session, principal=city.principal(session, "office"), case_id=case_id)
