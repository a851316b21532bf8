"""Assignment rules resolved against the directory (one read per operation) and delegation on the way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import City, linear_process, make_city, post_rule, publish_matter
from xietong.cases import service
from xietong.db.base import utcnow
from xietong.directory import service as directory
from xietong.directory.models import Post
from xietong.engine.errors import RoutingError
from xietong.engine.models import Task
from xietong.security.principal import load_principal


def start(session: Session, city: City, process: dict[str, Any]) -> tuple[int, list[int]]:
    local = publish_matter(session, city, process)
    case_id, _ = service.submit_case(
        session,
        principal=city.principal(session, "office"),
        local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id,
        form={"title": "分派测试"},
    )
    return case_id, service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)


def task(session: Session, task_id: int) -> Task:
    found = session.scalars(select(Task).where(Task.id == task_id).execution_options(populate_existing=True)).one()
    return found


def test_each_kind_of_unit_and_post_rule_lands_on_its_unit_and_post(session: Session) -> None:
    city = make_city(session, holders=1)
    other = make_city(session, holders=1)  # same functions in another region: never chosen
    fixed = {"rule": "post", "unit": {"ref": "unit", "code": city.units["big_data"].code}, "post": "clerk"}
    process = linear_process(
        ("by_function", post_rule("finance")),
        ("fixed", fixed),
        ("applicant_leader", {"rule": "applicant_leader"}),
        ("applicant_unit", {"rule": "post", "unit": {"ref": "applicant_unit"}, "post": "head"}),
    )
    _case_id, [first] = start(session, city, process)
    expected = [
        ("finance", "section_chief"),
        ("big_data", "clerk"),
        ("office", "leader_in_charge"),
        ("office", "head"),
    ]
    pending = [first]
    for function, post_code in expected:
        [task_id] = pending
        row = task(session, task_id)
        post = session.get(Post, row.post_id)
        assert (row.unit_id, post.code if post else None) == (city.units[function].id, post_code)
        assert row.unit_id != other.units[function].id and row.assignee_id is None
        holder = load_principal(session, city.person(function, post_code).id)
        pending = service.complete_task(session, principal=holder, task_id=task_id, approved=True)
    assert pending == []


def test_a_post_the_unit_lacks_stops_the_step_with_a_clear_error(session: Session) -> None:
    city = make_city(session, holders=1)
    process = linear_process(("missing", post_rule("finance", "no_such_post")))
    with pytest.raises(RoutingError) as caught:
        start(session, city, process)
    assert caught.value.code == "no_assignee" and "no_such_post" in caught.value.detail


def test_a_function_no_unit_of_the_region_has_stops_the_step(session: Session) -> None:
    city = make_city(session, holders=1)
    process = linear_process(("nobody", post_rule("no_such_function")))
    with pytest.raises(RoutingError) as caught:
        start(session, city, process)
    assert caught.value.code == "no_assignee" and "no_such_function" in caught.value.detail


def test_named_people_on_leave_are_replaced_by_their_deputies_acting_for_them(session: Session) -> None:
    city = make_city(session, holders=2)
    away, deputy = city.person("finance", "section_chief", 0), city.person("finance", "section_chief", 1)
    present = city.person("hr_social", "clerk", 0)
    now = utcnow()
    directory.set_delegation(
        session, from_person_id=away.id, to_person_id=deputy.id, starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    people = {"rule": "people", "people": [away.employee_code, present.employee_code]}
    process = {
        "schema": "xietong.process/1",
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "sign", "type": "user_task", "name": "会签", "assign": people, "multi": {"mode": "all"}},
            {"id": "end", "type": "end"},
        ],
        "flows": [{"id": "f1", "from": "start", "to": "sign"}, {"id": "f2", "from": "sign", "to": "end"}],
    }
    _case_id, opened = start(session, city, process)
    slots = sorted((t.assignee_id, t.acting_for_id, t.unit_id) for t in (task(session, i) for i in opened))
    assert slots == sorted(
        [
            (deputy.id, away.id, city.units["finance"].id),
            (present.id, None, city.units["hr_social"].id),
        ]
    )
