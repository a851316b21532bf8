"""``xietong db``: schema migrations."""

from __future__ import annotations

import typer
from rich.console import Console

from xietong.cli import app
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine

db_app = typer.Typer(help="数据库迁移 (database migrations)", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Upgrade the database schema (Alembic)."""
    engine = create_db_engine(Settings())
    migrate.upgrade(engine, revision)
    console.print(f"[green]数据库已升级到 {migrate.current_revision(engine)}[/green]")


@db_app.command("status")
def status() -> None:
    """Print the current and the head revision."""
    current, head = migrate.schema_status(create_db_engine(Settings()))
    console.print(f"current={current} head={head} {'(最新)' if current == head else '(需要升级)'}")
