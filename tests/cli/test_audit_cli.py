"""``xietong audit verify`` exits 0 on an intact chain and non-zero naming the first broken record."""

from __future__ import annotations

from sqlalchemy import update

import xietong.cli.audit  # noqa: F401  (registers the command group)
from tests.cli.conftest import CliDb
from xietong.db.session import unit_of_work
from xietong.security.audit import record
from xietong.security.audit_chain import RECORD
from xietong.security.principal import Principal


def test_verify_reports_the_first_modified_record_and_fails(cli_db: CliDb) -> None:
    with unit_of_work(cli_db.engine) as session:
        for i in range(3):
            record(session, Principal(kind="person", id=1), "directory.unit_created", target_id=i)
    intact = cli_db.run("audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "完整" in intact.output and "断裂" not in intact.output
    signed = cli_db.run("audit", "checkpoint")
    assert signed.exit_code == 0 and "第 3 条" in signed.output
    with unit_of_work(cli_db.engine) as session:
        session.execute(update(RECORD).where(RECORD.c.seq == 2).values(action="auth.logout"))
    broken = cli_db.run("audit", "verify")
    assert broken.exit_code == 1
    assert "第 2 条审计记录的内容与其哈希不符" in broken.output
