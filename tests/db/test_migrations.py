"""Migrations: head matches the models, and an empty database goes to head and back one step."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect

from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.db.models import Base


def test_schema_at_head_matches_models(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        opts = {"compare_type": False, "include_object": migrate.for_dialect(conn.dialect.name)}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []
    current, head = migrate.schema_status(db_engine)
    assert current == head is not None


def test_upgrade_empty_database_then_down_one_step_and_up_again(tmp_path) -> None:
    engine = create_db_engine(Settings(data_dir=tmp_path, demo=True))
    migrate.upgrade(engine)
    head = migrate.head_revision(engine)
    assert "case" in inspect(engine).get_table_names()
    migrate.downgrade(engine, "-1")
    assert migrate.current_revision(engine) not in (None, head)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == head
    migrate.downgrade(engine, "base")
    assert "case" not in inspect(create_engine(engine.url)).get_table_names()
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == head
    engine.dispose()
