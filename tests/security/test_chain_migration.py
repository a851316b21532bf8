"""Migration 0010 chains the audit records written before it, so the trail verifies from its first record."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from tests.conftest import own_database
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.db.session import read_only, unit_of_work
from xietong.security.audit import record
from xietong.security.audit_chain import RECORD, verify_audit
from xietong.security.principal import SYSTEM_PRINCIPAL


def test_records_from_before_the_chain_are_chained_by_the_migration(tmp_path: Path) -> None:
    with own_database("chain_migration", tmp_path) as url:
        engine = create_db_engine(Settings(database_url=url, data_dir=tmp_path, demo=True))
        migrate.upgrade(engine, "0008")
        old = text(
            "INSERT INTO audit_record (at, actor_kind, actor_id, action, target_kind, target_id, detail, client_ip) "
            "VALUES (:at, 'person', :actor, :action, 'unit', :target, :detail, '10.0.0.1')"
        )
        with engine.begin() as conn:
            for i in range(3):
                at = datetime(2026, 11, 1, 8, i, tzinfo=UTC)
                conn.execute(old, {"at": at if conn.dialect.name == "postgresql" else at.replace(tzinfo=None),
                                   "actor": i, "action": f"directory.unit_{i}", "target": str(i),
                                   "detail": json.dumps({"名": "科", "n": i}, ensure_ascii=False)})
        migrate.upgrade(engine)
        with read_only(engine) as session:
            rows = session.execute(select(RECORD.c.seq, RECORD.c.action).order_by(RECORD.c.id)).all()
            result = verify_audit(session, secret="any-secret-no-checkpoints-here-yet-0123")
        assert [tuple(r) for r in rows] == [(1, "directory.unit_0"), (2, "directory.unit_1"), (3, "directory.unit_2")]
        assert result.ok and result.checked == 3 and result.head_seq == 3
        with unit_of_work(engine) as session:  # the next record links on to the migrated ones
            record(session, SYSTEM_PRINCIPAL, "system.after_migration")
        with read_only(engine) as session:
            after = verify_audit(session, secret="any-secret-no-checkpoints-here-yet-0123")
            fourth = session.execute(select(RECORD.c.prev_hash).where(RECORD.c.seq == 4)).scalar_one()
            third = session.execute(select(RECORD.c.hash).where(RECORD.c.seq == 3)).scalar_one()
        assert after.ok and after.head_seq == 4 and fourth == third
        engine.dispose()
