"""Alembic, driven from code: upgrade, downgrade, and the "is the schema current?" check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to ``engine`` (env.py reuses the engine's connection)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is a ConfigParser: a literal % (an escaped socket path, ?host=%2Fvar…) must be doubled.
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def for_dialect(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """An Alembic ``include_object`` that leaves out model indexes meant for another dialect (``ddl_if``)."""

    def include(obj: Any, _name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        return reflected or type_ != "index" or condition is None or condition.dialect in (None, dialect)

    return include


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_status(engine: Engine) -> tuple[str | None, str | None]:
    """(current, head) revisions; equal means the schema is up to date."""
    return current_revision(engine), head_revision(engine)
