"""``xietong serve``: run the web server (``--demo`` migrates the embedded database and builds the demo city once)."""

from __future__ import annotations

import typer
import uvicorn
from rich.console import Console

from xietong.cli import app
from xietong.cli.demo import build, print_logins
from xietong.config import Settings
from xietong.db.engine import create_db_engine
from xietong.logs import configure_logging
from xietong.web.app import create_app

console = Console()


@app.command()
def serve(
    demo: bool = typer.Option(False, "--demo", help="演示模式：自动建库并生成演示城市"),
    host: str | None = None,
    port: int | None = None,
) -> None:
    """Run the server."""
    # The demo is one process: it runs the worker (change-log sequencer…) in a thread of its own.
    overrides: dict[str, object] = {"demo": demo, "run_worker_in_process": True} if demo else {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = Settings(**overrides)  # type: ignore[arg-type]
    summary = None
    if demo:
        engine = create_db_engine(settings)
        try:
            summary = build(engine, settings, console)
        finally:
            engine.dispose()
    console.print(f"[bold]xietong 协同[/bold] http://{settings.host}:{settings.port}/")
    if summary is not None:
        counts = summary.counts
        console.print(
            f"演示城市：{counts.get('departments', 0)} 个部门，{counts.get('people', 0)} 名人员，"
            f"{counts.get('local_matters', 0)} 项事项，{counts.get('cases', 0):,} 件办件"
        )
        print_logins(console, summary)
    configure_logging(settings.log_level)
    # Our middleware writes the access line (with the request id and route); uvicorn's would be a second one.
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
        log_config=None, access_log=False,
    )
