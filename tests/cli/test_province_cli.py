"""``xietong province reconcile`` against the platform's stand-in: balanced exits 0, what the platform has not
confirmed is listed and exits 1, an unconfigured platform is a clear refusal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update

import xietong.cli.province  # noqa: F401  (registers the command group)
from tests.cli.conftest import CliDb
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.integrations.models import OutboundMessage
from xietong.integrations.outbound import enqueue
from xietong.standins import Running, serve_in_thread
from xietong.standins.province import DEMO_APP_ID, DEMO_SECRET, ProvincePlatform


@pytest.fixture
def platform() -> Iterator[tuple[ProvincePlatform, Running]]:
    platform = ProvincePlatform()
    running = serve_in_thread(platform.app())
    yield platform, running
    running.close()


def test_reconcile_lists_what_the_platform_has_not_confirmed(cli_db: CliDb,
                                                              platform: tuple[ProvincePlatform, Running]) -> None:
    _, running = platform
    env = {"XIETONG_PROVINCE_URL": running.url, "XIETONG_PROVINCE_APP_ID": DEMO_APP_ID,
           "XIETONG_PROVINCE_SECRET": DEMO_SECRET}
    balanced = cli_db.run("province", "reconcile", env=env)
    assert balanced.exit_code == 0, balanced.output
    assert "对账一致" in balanced.output

    with unit_of_work(cli_db.engine) as session:
        sent = enqueue(session, "province", "up_pro_result", {"table": "up_pro_result",
                                                              "record": {"PROJID": "XT331100202612020000001"}},
                       message_id="XT331100202612020000001-9-up_pro_result")
        session.execute(update(OutboundMessage).where(OutboundMessage.id == sent).values(state="done",
                                                                                        done_at=utcnow()))
    missing = cli_db.run("province", "reconcile", env=env)
    assert missing.exit_code == 1
    assert "已发送但省平台未确认" in missing.output and "XT331100202612020000001" in missing.output


def test_reconcile_without_a_configured_platform_says_so(cli_db: CliDb) -> None:
    result = cli_db.run("province", "reconcile")
    assert result.exit_code == 1 and "尚未配置省政务服务平台对接" in result.output
    bad = cli_db.run("province", "reconcile", "--date", "2026-13-01")
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
