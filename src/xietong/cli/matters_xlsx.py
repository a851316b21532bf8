"""``xietong matters import`` / ``export``: the matter library as .xlsx (``catalog/library_xlsx.py``).

An import is all or nothing: every bad row is printed (row number and reason) and the command exits non-zero
with nothing written; a good file is written in one transaction behind a progress bar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xietong.catalog import library_xlsx
from xietong.cli.common import database, out, progress_bar, read_input, reported
from xietong.cli.matters import matters_app
from xietong.db.session import read_only, unit_of_work

InputFile = Annotated[Path, typer.Argument(help="事项库 .xlsx 文件", exists=True, dir_okay=False, readable=True)]
Output = Annotated[Path, typer.Option("--output", "-o", help="写入的 .xlsx 文件", dir_okay=False)]
Force = Annotated[bool, typer.Option("--force", help="覆盖已存在的文件")]


@matters_app.command("import", help="从 .xlsx 导入事项库（新增或更新实施清单并发布新版本；有错则全部不导入）")
def import_matters(file: InputFile) -> None:
    """Create or update local matters from an .xlsx made like ``matters export``."""
    with reported():
        data = read_input(file)
        with database() as engine, progress_bar() as progress:
            task = progress.add_task("读取并校验", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, description="写入", completed=done, total=total)

            with unit_of_work(engine) as session:
                summary = library_xlsx.import_matters(session, data=data, progress=advance)
    out().print(
        f"[green]导入完成[/green]：新增 {summary.created} 项，更新 {summary.updated} 项，"
        f"发布 {summary.versions} 个新版本，未变化 {summary.unchanged} 项"
    )


@matters_app.command("export", help="导出已发布的事项为 .xlsx（每个实施清单一行）")
def export_matters(output: Output = Path("matters.xlsx"), force: Force = False) -> None:
    """Write the published local matters in the layout ``matters import`` reads."""
    if output.exists() and not force:
        raise typer.BadParameter(f"文件 {output} 已存在；加 --force 覆盖", param_hint="--output")
    console = out()
    with reported(), database() as engine, console.status("正在导出…"), read_only(engine) as session:
        data = library_xlsx.export_matters(session)
    temp = output.with_name(output.name + ".part")
    temp.write_bytes(data)
    temp.replace(output)
    console.print(f"[green]已导出[/green]：{output}（{len(data) / 1024:.1f} KB）")
