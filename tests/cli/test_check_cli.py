"""``xietong check``: each check printed with OK/FAIL; any failure exits non-zero."""

from __future__ import annotations

from datetime import date, timedelta

import xietong.cli.check  # noqa: F401  (registers the command)
from tests.cli.conftest import CliDb
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.system.calendar_admin import holidays_known
from xietong.system.models import WorkdayOverride

STRONG = "kR7#pQ2!vX9@mL4$wN8%zT1^bH6&cJ3*"


def _enter_next_year(cli_db: CliDb) -> None:
    year = utcnow().year + 1
    with unit_of_work(cli_db.engine) as session:
        for i in range(7):
            session.add(WorkdayOverride(day=date(year, 10, 1) + timedelta(days=i), is_working=False, note="国庆"))


def test_a_sound_configuration_passes_every_check(cli_db: CliDb) -> None:
    _enter_next_year(cli_db)
    result = cli_db.run("check", env={"XIETONG_SECRET_KEY": STRONG})
    assert result.exit_code == 0, result.output
    for name in ("数据库连接", "数据库结构", "实例密钥", "数据目录", "工作日历", "演示数据与账号"):
        assert name in result.output
    assert "FAIL" not in result.output and "全部检查通过" in result.output


def test_a_placeholder_secret_fails_and_exits_non_zero(cli_db: CliDb) -> None:
    _enter_next_year(cli_db)
    result = cli_db.run("check", env={"XIETONG_SECRET_KEY": "changeme-changeme-changeme-changeme"})
    assert result.exit_code == 1
    assert "FAIL" in result.output and "占位值" in result.output


def test_a_year_without_holidays_fails_the_calendar_check(cli_db: CliDb) -> None:
    result = cli_db.run("check", env={"XIETONG_SECRET_KEY": STRONG})
    if holidays_known(utcnow().year + 1):  # a newer holiday package knows the year: nothing to enter
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1 and "工作日历" in result.output and "FAIL" in result.output


def test_an_unreachable_database_fails(cli_db: CliDb) -> None:
    result = cli_db.run("check", env={"XIETONG_DATABASE_URL": "postgresql://x@127.0.0.1:9/none?connect_timeout=2"})
    assert result.exit_code == 1 and "无法连接数据库" in result.output
