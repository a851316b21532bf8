"""``xietong worker --once`` sequences the change log of the configured database."""

from __future__ import annotations

from sqlalchemy import func, select

import xietong.cli.worker  # noqa: F401  (registers the command)
from tests.cli.conftest import CliDb
from tests.factories import linear_process, make_city, post_rule, publish_matter
from xietong.cases import service
from xietong.cases.models import Event
from xietong.db.session import unit_of_work


def test_worker_once_gives_positions_to_new_events(cli_db: CliDb) -> None:
    with unit_of_work(cli_db.engine) as session:
        city = make_city(session)
        local = publish_matter(session, city, linear_process(("review", post_rule("finance"))))
        for i in range(3):
            service.submit_case(
                session, principal=city.principal(session, "office"), local_matter_id=local.id,
                applicant_unit_id=city.units["office"].id, form={"title": f"工作进程{i}"},
            )
    result = cli_db.run("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "sequence_events=3" in result.output
    with unit_of_work(cli_db.engine) as session:
        assert session.scalar(select(func.count()).where(Event.position.is_(None))) == 0
    assert "sequence_events=0" in cli_db.run("worker", "--once").output
