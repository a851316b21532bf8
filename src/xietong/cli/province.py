"""``xietong province``: the provincial platform's reconciliation — what it has not confirmed of a day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.table import Table

from xietong.cli import app
from xietong.cli.common import EXIT_FAILED, database, out, reported
from xietong.config import Settings
from xietong.db.session import read_only
from xietong.integrations.province.follower import TZ
from xietong.integrations.province.reconcile import Line, fetch_receipts, reconcile

province_app = typer.Typer(help="省政务服务平台：办件上报对账", no_args_is_help=True)
app.add_typer(province_app, name="province")


@province_app.command("reconcile", help="核对某日上报的办件记录与省平台确认的记录；有未确认的记录时以非零状态退出")
def reconcile_day(
    day: Annotated[str | None, typer.Option("--date", help="日期 YYYY-MM-DD，默认今天")] = None,
) -> None:
    settings = Settings()
    with reported(), database() as engine:
        try:
            when = date.fromisoformat(day) if day else datetime.now(TZ).date()
        except ValueError as exc:
            raise typer.BadParameter("日期格式应为 YYYY-MM-DD", param_hint="--date") from exc
        receipts = fetch_receipts(settings, when)
        with read_only(engine) as session:
            report = reconcile(session, when, receipts)
    console = out()
    console.print(f"{when.isoformat()}：省平台已确认 {report.confirmed} 条")
    sections: list[tuple[str, list[Line]]] = [
        ("已发送但省平台未确认", report.unconfirmed), ("尚未发送（排队或重试中）", report.waiting),
        ("发送失败（死信）", report.dead),
    ]
    for title, lines in sections:
        if not lines:
            continue
        table = Table("流水号", "交换表", "办件编号", "状态", "最近错误", title=title, header_style="bold")
        for line in lines:
            table.add_row(line.serial, line.table, line.case_number, line.state, line.last_error or "")
        console.print(table)
    if report.unknown:
        console.print(f"省平台列出但本系统未发送的流水号：{'、'.join(report.unknown)}")
    if not report.balanced:
        raise typer.Exit(EXIT_FAILED)
    console.print("[green]对账一致[/green]")
