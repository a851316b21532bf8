"""``xietong backup`` / ``xietong restore``: the whole system (database and stored files) to one archive and back.

The work is ``xietong.system.backup``; this module draws the progress bar, prints the figures and, after a
restore, verifies the audit and event chains of the restored database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from xietong.cli import app
from xietong.cli.common import EXIT_FAILED, database, out, progress_bar, reported
from xietong.config import Settings
from xietong.db.session import read_only
from xietong.security import audit_chain
from xietong.system import backup as backups
from xietong.system.secret import stored_secret


@contextmanager
def _bar() -> Iterator[backups.ProgressFn]:
    """A progress callback that keeps one bar per stage."""
    tasks: dict[str, TaskID] = {}
    with progress_bar() as bar:

        def update(stage: str, done: int, total: int) -> None:
            _stage(bar, tasks, stage, total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _stage(bar: Progress, tasks: dict[str, TaskID], stage: str, total: int) -> None:
    if stage not in tasks:
        tasks[stage] = bar.add_task(stage, total=total)


@app.command("backup", help="备份整个系统（数据库与全部附件文件）到一个归档文件；系统运行中也可备份")
def backup(
    target: Annotated[Path, typer.Argument(help="备份文件路径，例如 xietong-2026-12-02.tar；不会覆盖已有文件")],
) -> None:
    settings = Settings()
    with reported(), database() as engine, _bar() as progress:
        report = backups.backup(engine, settings, target, progress=progress)
    rows = sum(table.rows for table in report.manifest.tables.values())
    out().print(
        f"[green]已备份[/green] {report.path}：{len(report.manifest.tables)} 张数据表共 {rows} 行，"
        f"{len(report.manifest.blobs)} 个附件文件，归档 {report.size / 1024 / 1024:.1f} MB",
        highlight=False,
    )


@app.command("restore", help="从备份文件恢复整个系统；目标数据库已有数据时须加 --force 才会覆盖")
def restore(
    source: Annotated[Path, typer.Argument(help="xietong backup 写出的备份文件")],
    force: Annotated[bool, typer.Option("--force", help="覆盖已有数据的数据库")] = False,
) -> None:
    settings = Settings()
    with reported(), database() as engine:
        with _bar() as progress:
            report = backups.restore(engine, settings, source, force=force, progress=progress)
        with read_only(engine) as session:
            # read, never create: a restored system must stay exactly the archived one
            secret = settings.secret_key or stored_secret(session) or ""
            chains = [
                audit_chain.verify_audit(session, secret=secret),
                audit_chain.verify_events(session, secret=secret),
            ]
    table = Table("校验项", "结果", header_style="bold")
    rows = sum(t.rows for t in report.manifest.tables.values())
    table.add_row(f"数据表行数与校验值（{len(report.manifest.tables)} 张，{rows} 行）",
                  "[green]一致[/green]" if report.ok else "[bold red]不一致[/bold red]")
    table.add_row(f"附件文件（{len(report.manifest.blobs)} 个，逐个按 SHA-256 校验）", "[green]一致[/green]")
    for result in chains:
        name = "审计记录链" if result.chain == audit_chain.AUDIT else "全局事件链"
        detail = f"{result.checked} 条" if result.ok else (result.first_break.detail if result.first_break else "")
        table.add_row(name, f"[green]完整[/green] {detail}" if result.ok else f"[bold red]断裂[/bold red] {detail}")
    console = out()
    console.print(table)
    for problem in report.mismatches:
        console.print(f"[red]· {problem}[/red]", highlight=False)
    if not report.ok or not all(result.ok for result in chains):
        raise typer.Exit(EXIT_FAILED)
    console.print(f"[green]已恢复[/green] 备份时间 {report.manifest.created_at}，数据库版本 {report.manifest.revision}",
                  highlight=False)
