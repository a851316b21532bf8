"""``xietong monitor``: the periodic bulletin (.xlsx or PDF), any statistics table as .xlsx, figures on screen,
and the first (or a forced) refresh of the day summaries (``monitor/summary.py``; the worker keeps them after).

The commands read as the system (they run on the server, by the operator) over the whole city or one region.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cli import app
from xietong.cli.common import database, out, progress_bar, reported
from xietong.db.session import read_only, unit_of_work
from xietong.directory.models import Region
from xietong.errors import InvalidInput, NotFound
from xietong.monitor import bulletin as bulletins
from xietong.monitor import summary
from xietong.monitor.exports import TABLES, export_table
from xietong.monitor.figures import figures
from xietong.monitor.filters import Filters, parse_period
from xietong.security.principal import SYSTEM_PRINCIPAL

monitor_app = typer.Typer(help="监控分析：通报、统计表导出 (monitoring)", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")

PERIOD_HELP = "统计期间：2026Q3、2026-09、2026 或 2026-07-01..2026-09-30"
PeriodOption = Annotated[str, typer.Option("--period", help=PERIOD_HELP)]
RegionOption = Annotated[str | None, typer.Option("--region", help="只统计这个行政区划（代码，如 331102）")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="写入的文件（.xlsx 或 .pdf）", dir_okay=False)]
Force = Annotated[bool, typer.Option("--force", help="覆盖已存在的文件")]
FoldOption = Annotated[bool, typer.Option("--fold", help="单位排名按改革后单位合并（被合并的单位计入接续单位）")]


def _region_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    found = session.scalar(select(Region.id).where(Region.code == code))
    if found is None:
        raise NotFound(code="region_not_found", detail=f"没有代码为 {code} 的行政区划")
    return found


def _write(out_file: Path, data: bytes, force: bool) -> None:
    if out_file.exists() and not force:
        raise typer.BadParameter(f"文件 {out_file} 已存在；加 --force 覆盖", param_hint="--out")
    temp = out_file.with_name(out_file.name + ".part")
    temp.write_bytes(data)
    temp.replace(out_file)
    out().print(f"[green]已写入[/green]：{out_file}（{len(data) / 1024:.1f} KB）")


@monitor_app.command("bulletin", help="生成月度/季度通报：排名、超期办件、环节耗时（按文件后缀写 .xlsx 或 .pdf）")
def bulletin(period: PeriodOption, out_file: OutOption, region: RegionOption = None, force: Force = False,
             fold: FoldOption = False) -> None:
    suffix = out_file.suffix.lower()
    if suffix not in (".xlsx", ".pdf"):
        raise typer.BadParameter("文件后缀须为 .xlsx 或 .pdf", param_hint="--out")
    with reported(), database() as engine, read_only(engine) as session, progress_bar() as bar:
        filters_period = parse_period(period)
        step = bar.add_task("统计", total=2)
        region_id = _region_id(session, region)
        made = bulletins.gather(
            session, principal=SYSTEM_PRINCIPAL, scope_name=bulletins.scope_name(session, region_id),
            filters=Filters(period=filters_period, region_id=region_id), fold=fold,
        )
        bar.update(step, advance=1, description="写文件")
        data = bulletins.bulletin_xlsx(made) if suffix == ".xlsx" else bulletins.bulletin_pdf(made)
        bar.update(step, advance=1)
    _write(out_file, data, force)


@monitor_app.command(
    "refresh", help="建立或更新按日汇总（截至昨天）；此后由后台任务（worker）每天续汇总，并重算被补录改动的日期"
)
def refresh_summaries(
    since: Annotated[str | None, typer.Option("--since", help="从这一天（YYYY-MM-DD）起重新汇总")] = None,
) -> None:
    with reported():
        first = parse_day(since) if since else None
        with database() as engine, unit_of_work(engine) as session:
            done = summary.refresh(session, since=first)
    if done.first is None:
        out().print(f"汇总已是最新（截至 {done.through or '—'}）")
    else:
        rows = f"{done.case_rows} 行办件、{done.step_rows} 行环节"
        out().print(f"[green]已汇总[/green] {done.first} 至 {done.through}：{rows}")


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(code="bad_date", detail=f"日期“{text}”应写成 YYYY-MM-DD") from error


@monitor_app.command("export", help=f"导出一张统计表为 .xlsx（{'、'.join(TABLES)}）")
def export(
    table: Annotated[str, typer.Argument(help="表名")], period: PeriodOption, out_file: OutOption,
    region: RegionOption = None,
    figure: Annotated[str | None, typer.Option("--figure", help="cases 表：要列出的指标，如 overdue_now")] = None,
    force: Force = False, fold: FoldOption = False,
) -> None:
    with reported(), database() as engine, read_only(engine) as session:
        filters = Filters(period=parse_period(period), region_id=_region_id(session, region))
        _, data = export_table(session, principal=SYSTEM_PRINCIPAL, filters=filters, table=table, figure=figure,
                               fold=fold)
    _write(out_file, data, force)


@monitor_app.command("figures", help="在屏幕上列出一个期间的全部指标")
def show_figures(period: PeriodOption, region: RegionOption = None) -> None:
    with reported(), database() as engine, read_only(engine) as session:
        filters = Filters(period=parse_period(period), region_id=_region_id(session, region))
        found = figures(session, principal=SYSTEM_PRINCIPAL, filters=filters)
    table = Table("指标", "代码", "数值", title=f"{filters.period.title} 统计", header_style="bold")
    for count in found.counts:
        table.add_row(count.label, count.key, str(count.value))
    for rate in found.rates:
        table.add_row(rate.label, rate.key, "—" if rate.value is None else f"{rate.value:.2%}")
    average, median = found.days.average, found.days.median
    table.add_row("办结平均用时（工作日）", "average_days", "—" if average is None else f"{average:.2f}")
    table.add_row("办结用时中位数（工作日）", "median_days", "—" if median is None else f"{median:g}")
    out().print(table)
