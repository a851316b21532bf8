"""``xietong calendar``: import and export the working-day overrides as .xlsx (``system/calendar_xlsx.py``).

An import is all or nothing: every bad row is printed (row number and reason) and the command exits non-zero
with nothing written. Both commands warn about years whose statutory holidays the holiday package lacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xietong.cli import app
from xietong.cli.common import database, out, read_input, reported
from xietong.db.base import utcnow
from xietong.db.session import read_only, unit_of_work
from xietong.security.audit import record
from xietong.security.principal import SYSTEM_PRINCIPAL
from xietong.system import calendar_xlsx
from xietong.system.calendar_admin import holidays_known, missing_holidays_warning

calendar_app = typer.Typer(help="工作日历：节假日与调休的 .xlsx 导入导出 (working days)", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")

InputFile = Annotated[Path, typer.Argument(help=".xlsx 文件", exists=True, dir_okay=False, readable=True)]
Output = Annotated[Path, typer.Option("--output", "-o", help="写入的 .xlsx 文件", dir_okay=False)]
Force = Annotated[bool, typer.Option("--force", help="覆盖已存在的文件")]
Year = Annotated[int | None, typer.Option("--year", help="只导出这一年")]


@calendar_app.command("import", help="从 .xlsx 导入工作日调整（新增或替换；有错则全部不导入）")
def import_overrides(file: InputFile) -> None:
    """Set every date the file lists as a working day or a day off."""
    with reported():
        data = read_input(file)
        with database() as engine, unit_of_work(engine) as session:
            summary = calendar_xlsx.import_overrides(session, data=data)
            record(session, SYSTEM_PRINCIPAL, "calendar.overrides_imported", detail={
                "file": file.name, "created": summary.created, "updated": summary.updated, "via": "cli"})
    out().print(f"[green]导入完成[/green]：新增 {summary.created} 天，替换 {summary.updated} 天")
    _warn_missing_years()


@calendar_app.command("export", help="导出工作日调整为 .xlsx")
def export_overrides(output: Output = Path("calendar.xlsx"), force: Force = False, year: Year = None) -> None:
    """Write the overrides (or one year's), by date."""
    if output.exists() and not force:
        raise typer.BadParameter(f"文件 {output} 已存在；加 --force 覆盖", param_hint="--output")
    with reported(), database() as engine, read_only(engine) as session:
        data = calendar_xlsx.export_overrides(session, year=year)
    temp = output.with_name(output.name + ".part")
    temp.write_bytes(data)
    temp.replace(output)
    out().print(f"[green]已导出[/green]：{output}（{len(data) / 1024:.1f} KB）")
    _warn_missing_years()


def _warn_missing_years() -> None:
    """The current and next year are the ones a due time can reach: say if their holidays are unknown."""
    this_year = utcnow().year
    for year in (this_year, this_year + 1):
        if not holidays_known(year):
            out().print(f"[yellow]注意[/yellow]：{missing_holidays_warning(year)}", highlight=False)
