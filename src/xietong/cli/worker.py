"""``xietong worker``: run the background duties (change-log sequencer…) until interrupted."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType

import typer
from rich.console import Console

from xietong.cli import app
from xietong.config import Settings
from xietong.dataservice.delivery import WebhookOptions
from xietong.db.engine import create_db_engine
from xietong.db.session import unit_of_work
from xietong.integrations.outbound import outbound_options
from xietong.logs import configure_logging
from xietong.system.secret import instance_secret
from xietong.worker.loop import checkpoint_duty, housekeeping_duty, run_forever, run_once

console = Console()


@app.command()
def worker(
    once: bool = typer.Option(False, "--once", help="只运行一轮后退出"),
    idle_seconds: float = typer.Option(1.0, help="无事可做时的等待秒数"),
) -> None:
    """Run the worker (any number may run against one database)."""
    settings = Settings()
    engine = create_db_engine(settings)
    with unit_of_work(engine) as session:
        extra = (checkpoint_duty(instance_secret(session, settings.secret_key)),
                 housekeeping_duty(settings.delivery_history_days))
    webhooks = WebhookOptions(
        timeout_seconds=settings.webhook_timeout_seconds, lease=timedelta(seconds=settings.webhook_lease_seconds)
    )
    if once:
        done = run_once(engine, extra, webhooks=webhooks, outbound=outbound_options(settings))
        console.print("  ".join(f"{name}={count}" for name, count in done.items()))
        engine.dispose()
        return
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    configure_logging(settings.log_level)
    console.print("[bold]xietong worker[/bold] 运行中（Ctrl+C 退出）")
    run_forever(engine, stop, idle_seconds=idle_seconds, extra=extra, webhooks=webhooks,
                outbound=outbound_options(settings))
    engine.dispose()
