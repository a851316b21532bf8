"""The matter library's operations: versions, publication and retirement."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import TEXT_FORM, linear_process, make_city, post_rule, publish_matter
from xietong.catalog import service as catalog
from xietong.catalog.models import MatterVersion
from xietong.errors import Conflict


def test_a_new_version_keeps_the_yellow_card_settings_of_the_one_before(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, linear_process(("review", post_rule("finance"))))
    first = session.scalars(select(MatterVersion).where(MatterVersion.local_matter_id == local.id)).one()
    first.yellow_days, first.yellow_ratio = 2.0, 0.3
    session.flush()
    second = catalog.draft_version(
        session, local=local, form_schema=TEXT_FORM, materials=[], process=linear_process(("a", post_rule("office"))),
        promised_limit_days=4,
    )
    assert (second.number, second.yellow_days, second.yellow_ratio) == (2, 2.0, 0.3)


def test_publishing_retires_the_previous_version_and_retiring_the_matter_retires_the_last(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, linear_process(("review", post_rule("finance"))))
    second = catalog.draft_version(
        session, local=local, form_schema=TEXT_FORM, materials=[], process=linear_process(("a", post_rule("office"))),
        promised_limit_days=3,
    )
    catalog.publish_version(session, version_id=second.id)
    statuses = session.execute(
        select(MatterVersion.number, MatterVersion.status).where(MatterVersion.local_matter_id == local.id)
        .order_by(MatterVersion.number)
    ).all()
    assert [tuple(row) for row in statuses] == [(1, "retired"), (2, "published")]
    with pytest.raises(Conflict):
        catalog.publish_version(session, version_id=second.id)
    catalog.retire_matter(session, local_matter_id=local.id)
    session.refresh(second)
    assert second.status == "retired" and local.status == "retired"
    with pytest.raises(Conflict):
        catalog.retire_matter(session, local_matter_id=local.id)
