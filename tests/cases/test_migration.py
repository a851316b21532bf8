"""版本迁移: a dry run per case, each mappable case moved in its own transaction, the rest listed, and a revert."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_flow import decide, open_tasks, submit_and_accept
from tests.cases.test_replay import assert_replays
from tests.factories import TEXT_FORM, City, joint_approval_process, make_city, publish_matter
from tests.oversight.helpers import overseer
from xietong.cases.models import Case, Event
from xietong.cases.service.migration import migrate_cases, plan_migration, revert_migration
from xietong.catalog import service as catalog
from xietong.catalog.models import LocalMatter, MatterVersion
from xietong.errors import Forbidden, InvalidInput


@contextmanager
def savepoint(session: Session) -> Iterator[Session]:
    with session.begin_nested():
        yield session


def new_version(session: Session, local: LocalMatter, process: dict[str, Any]) -> int:
    version = catalog.draft_version(session, local=local, form_schema=TEXT_FORM, materials=[], process=process,
                                    promised_limit_days=5)
    catalog.publish_version(session, version_id=version.id)
    return version.id


def version_of(session: Session, case_id: int) -> int:
    case = session.get(Case, case_id)
    assert case is not None
    session.refresh(case)
    return case.matter_version_id


def at_reviews(session: Session, city: City, local_id: int) -> int:
    case_id = submit_and_accept(session, city, local_id)
    [accept] = open_tasks(session, case_id)
    decide(session, city, accept)
    return case_id


def test_a_dry_run_then_a_migration_that_leaves_unmappable_cases_alone_and_a_revert(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    old = session.scalar(select(MatterVersion.id).where(MatterVersion.local_matter_id == local.id))
    assert old is not None
    waiting = submit_and_accept(session, city, local.id)  # at 受理审查
    reviewing = at_reviews(session, city, local.id)  # three reviews open, one of them finance
    fixed = joint_approval_process(("hr_social", "big_data"))  # the finance review dropped
    next(n for n in fixed["nodes"] if n["id"] == "approve")["name"] = "分管领导审批"
    new = new_version(session, local, fixed)
    admin = overseer(session, city, role="reform_office", scope="all")

    plans = {p.case_id: p for p in plan_migration(session, principal=admin, local_matter_id=local.id,
                                                  from_version_id=old, to_version_id=new)}
    assert plans[waiting].mappable and plans[waiting].lands == ["受理审查 → 受理审查"]
    assert not plans[reviewing].mappable
    assert any("finance审查" in p for p in plans[reviewing].problems)
    assert version_of(session, waiting) == old  # a dry run changes nothing

    outcomes = migrate_cases(lambda: savepoint(session), principal=admin, local_matter_id=local.id,
                             from_version_id=old, to_version_id=new, reason="原版本会签环节设置错误")
    assert {o.case_id: o.migrated for o in outcomes} == {waiting: True, reviewing: False}
    assert (version_of(session, waiting), version_of(session, reviewing)) == (new, old)
    assert_replays(session, waiting)

    back = revert_migration(lambda: savepoint(session), principal=admin, local_matter_id=local.id,
                            from_version_id=old, to_version_id=new, reason="撤销迁移")
    assert [(o.case_id, o.migrated) for o in back] == [(waiting, True)]
    assert version_of(session, waiting) == old
    assert_replays(session, waiting)

    again = migrate_cases(lambda: savepoint(session), principal=admin, local_matter_id=local.id,
                          from_version_id=old, to_version_id=new, reason="重新迁移", case_ids=[waiting])
    assert [(o.case_id, o.migrated) for o in again] == [(waiting, True)]
    [accept] = open_tasks(session, waiting)  # the steps still to come follow the new version
    decide(session, city, accept)
    assert sorted(t.node_id for t in open_tasks(session, waiting)) == ["review_big_data", "review_hr_social"]
    late = revert_migration(lambda: savepoint(session), principal=admin, local_matter_id=local.id,
                            from_version_id=old, to_version_id=new, reason="撤销迁移")
    assert [(o.case_id, o.migrated) for o in late] == [(waiting, False)]  # its branches differ in the old one
    assert late[0].problems and version_of(session, waiting) == new
    types = session.scalars(select(Event.type).where(Event.case_id == waiting, Event.type.like("case.version%")))
    assert list(types) == ["case.version_migrated"] * 3
    assert_replays(session, waiting)


def test_migration_refusals(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, joint_approval_process())
    old = session.scalar(select(MatterVersion.id).where(MatterVersion.local_matter_id == local.id))
    assert old is not None
    new = new_version(session, local, joint_approval_process())
    with pytest.raises(Forbidden):
        plan_migration(session, principal=city.principal(session, "staffing"), local_matter_id=local.id,
                       from_version_id=old, to_version_id=new)
    admin = overseer(session, city, role="reform_office", scope="all")
    with pytest.raises(InvalidInput):
        plan_migration(session, principal=admin, local_matter_id=local.id, from_version_id=old, to_version_id=old)
    with pytest.raises(InvalidInput):
        migrate_cases(lambda: savepoint(session), principal=admin, local_matter_id=local.id, from_version_id=old,
                      to_version_id=new, reason=" ")
