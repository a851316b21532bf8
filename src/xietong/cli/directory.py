"""``xietong directory``: import and export the unit and people libraries as .xlsx (``directory/xlsx.py``).

An import is all or nothing: every bad row is printed (row number and reason) and the command exits non-zero
with nothing written; a good file is written in one transaction behind a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from xietong.cli import app
from xietong.cli.common import database, out, progress_bar, read_input, reported
from xietong.db.session import read_only, unit_of_work
from xietong.directory import xlsx

directory_app = typer.Typer(help="单位库与人员库：.xlsx 导入导出 (units and people)", no_args_is_help=True)
app.add_typer(directory_app, name="directory")

Importer = Callable[..., xlsx.ImportSummary]
InputFile = Annotated[Path, typer.Argument(help=".xlsx 文件", exists=True, dir_okay=False, readable=True)]
Output = Annotated[Path, typer.Option("--output", "-o", help="写入的 .xlsx 文件", dir_okay=False)]
Force = Annotated[bool, typer.Option("--force", help="覆盖已存在的文件")]


@directory_app.command("import-units", help="从 .xlsx 导入单位（新增或更新；有错则全部不导入）")
def import_units(file: InputFile) -> None:
    """Create or update units from an .xlsx made like export-units (parents may come after children)."""
    _import(file, xlsx.import_units, "个单位")


@directory_app.command("import-people", help="从 .xlsx 导入人员及任职（新增或更新；有错则全部不导入）")
def import_people(file: InputFile) -> None:
    """Create or update people and their memberships from an .xlsx made like export-people."""
    _import(file, xlsx.import_people, "名人员")


@directory_app.command("export-units", help="导出启用中的单位为 .xlsx")
def export_units(output: Output = Path("units.xlsx"), force: Force = False) -> None:
    """Write the active units, each parent before its children."""
    _export(output, force, xlsx.export_units)


@directory_app.command("export-people", help="导出启用中的人员为 .xlsx（每个任职一行）")
def export_people(output: Output = Path("people.xlsx"), force: Force = False) -> None:
    """Write the active people, one row per membership."""
    _export(output, force, xlsx.export_people)


def _import(file: Path, importer: Importer, noun: str) -> None:
    with reported():
        data = read_input(file)
        with database() as engine, progress_bar() as progress:
            task = progress.add_task("读取并校验", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, description="写入", completed=done, total=total)

            with unit_of_work(engine) as session:
                summary = importer(session, data=data, progress=advance)
    out().print(f"[green]导入完成[/green]：新增 {summary.created} {noun}，更新 {summary.updated} {noun}")


def _export(output: Path, force: bool, exporter: Callable[[Session], bytes]) -> None:
    if output.exists() and not force:
        raise typer.BadParameter(f"文件 {output} 已存在；加 --force 覆盖", param_hint="--output")
    console = out()
    with reported(), database() as engine, console.status("正在导出…"), read_only(engine) as session:
        data = exporter(session)
    temp = output.with_name(output.name + ".part")
    temp.write_bytes(data)
    temp.replace(output)
    console.print(f"[green]已导出[/green]：{output}（{len(data) / 1024:.1f} KB）")
