"""``xietong demo``: build the demo city (丽水) into the configured database, with a progress bar and a summary."""

from __future__ import annotations

import time
from datetime import date

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from xietong.cli import app
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.demo.load import DEFAULT_CASES, DemoSummary, load_demo

STATUS_LABELS = {
    "submitted": "已申请（待受理）",
    "accepted": "已受理",
    "in_progress": "办理中",
    "supplementing": "补正中",
    "suspended": "已挂起",
    "special_procedure": "特别程序",
    "concluded:granted": "已办结（准予）",
    "concluded:denied": "已办结（不予）",
    "archived": "已归档",
    "rejected": "不予受理",
    "withdrawn": "已撤回",
}
COUNT_LABELS = {
    "regions": "行政区划",
    "departments": "部门",
    "units": "单位（含内设机构）",
    "people": "人员",
    "base_matters": "基本目录事项",
    "local_matters": "实施清单事项",
    "process_definitions": "流程定义",
    "cases": "办件",
    "events": "办件事件（哈希链）",
    "tasks": "待办/已办任务",
    "open_tasks": "其中待办",
    "attachments": "材料附件",
}


def build(
    engine: Engine, settings: Settings, console: Console, *, cases: int = DEFAULT_CASES, today: date | None = None
) -> DemoSummary:
    """Migrate, then build the demo once, showing a progress bar; returns what the database holds."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Refreshed by hand, not by rich's refresh thread: the loader plays the history in two forked workers only
    # when this process runs no other thread (with the thread, one process played all 37,000 cases).
    with Progress(*columns, console=console, transient=False, auto_refresh=False) as progress:
        step = progress.add_task("数据库迁移", total=1)
        migrate.upgrade(engine)
        progress.update(step, completed=1, refresh=True)
        steps: dict[str, TaskID] = {}
        shown = [0.0]

        def report(stage: str, done: int, total: int) -> None:
            if stage not in steps:
                steps[stage] = progress.add_task(stage, total=total)
            progress.update(steps[stage], completed=done, total=total)
            if time.perf_counter() - shown[0] > 0.5 or done == total:
                shown[0] = time.perf_counter()
                progress.refresh()

        return load_demo(engine, settings, report, cases=cases, today=today)


def print_logins(console: Console, summary: DemoSummary) -> None:
    """The demo log-ins with their password (demo mode is the only place that prints them)."""
    table = Table("用户名", "密码", "身份", title="演示账号", header_style="bold")
    for username, password, description in summary.logins:
        table.add_row(username, password, description)
    console.print(table)


def print_summary(console: Console, summary: DemoSummary) -> None:
    """Counts per table, cases per status and the open cases' cards."""
    if not summary.built:
        console.print(
            f"[yellow]数据库中已有演示数据（参考时点 {summary.as_of:%Y-%m-%d %H:%M} UTC），未重复生成。[/yellow]"
        )
    counts = Table("内容", "数量", title="演示城市：丽水", header_style="bold")
    for key, label in COUNT_LABELS.items():
        counts.add_row(label, f"{summary.counts.get(key, 0):,}")
    statuses = Table("办件状态", "数量", header_style="bold")
    for key, n in summary.statuses.items():
        statuses.add_row(STATUS_LABELS.get(key, key), f"{n:,}")
    statuses.add_row("在办超期（红牌）", f"{summary.cards.get('red', 0):,}")
    statuses.add_row("在办临期（黄牌）", f"{summary.cards.get('yellow', 0):,}")
    console.print(counts)
    console.print(statuses)


@app.command("demo")
def demo(
    cases: int = typer.Option(DEFAULT_CASES, "--cases", min=0, help="历史办件数量"),
    on: str | None = typer.Option(None, "--date", help="参考日期 YYYY-MM-DD（默认今天；同一天生成的数据相同）"),
) -> None:
    """生成演示城市（丽水）：区划、部门、人员、事项和两年的历史办件（只生成一次）。"""
    console = Console()
    started = time.perf_counter()
    try:
        today = date.fromisoformat(on) if on else None
    except ValueError:
        console.print(f"[red]日期格式应为 YYYY-MM-DD：{on}[/red]")
        raise typer.Exit(2) from None
    settings = Settings()
    engine = create_db_engine(settings)
    try:
        summary = build(engine, settings, console, cases=cases, today=today)
    finally:
        engine.dispose()
    print_summary(console, summary)
    print_logins(console, summary)
    console.print(f"用时 {time.perf_counter() - started:.1f} 秒（含数据库迁移）")
