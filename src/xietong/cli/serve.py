"""``xietong serve``: run the web server (``--demo`` migrates the embedded database first)."""

from __future__ import annotations

import typer
import uvicorn
from rich.console import Console

from xietong.cli import app
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.web.app import create_app

console = Console()


@app.command()
def serve(demo: bool = typer.Option(False, "--demo", help="演示模式：自动建库"),
          host: str | None = None, port: int | None = None) -> None:
    """Run the server."""
    overrides: dict[str, object] = {"demo": demo}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if demo:
        engine = create_db_engine(settings)
        migrate.upgrade(engine)
        engine.dispose()
    console.print(f"[bold]xietong 协同[/bold] http://{settings.host}:{settings.port}/")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)
