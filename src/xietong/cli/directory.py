"""``xietong directory``: import and export the unit and people libraries as .xlsx (``directory/xlsx.py``), and
机构改革 (``reorganise``: a plan as a table, ``--yes`` to carry it out with a progress bar over the open cases).

An import is all or nothing: every bad row is printed (row number and reason) and the command exits non-zero
with nothing written; a good file is written in one transaction behind a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.orm import Session

from xietong.cli import app
from xietong.cli.common import database, out, progress_bar, read_input, reported
from xietong.db.session import read_only, unit_of_work
from xietong.directory import xlsx
from xietong.directory.service import reorganisation as reorg
from xietong.errors import InvalidInput
from xietong.security.audit import record
from xietong.security.principal import SYSTEM_PRINCIPAL
from xietong.validation import problems_from

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


SpecFile = Annotated[Path, typer.Argument(help="改革方案 JSON 文件（格式见 docs/reorganisation.md）", exists=True,
                                          dir_okay=False, readable=True)]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="确认执行；不加则只预览方案")]


@directory_app.command("reorganise", help="机构改革：单位更名、合并或拆分（先预览，加 --yes 执行）")
def reorganise(file: SpecFile, yes: Yes = False) -> None:
    """Print the plan as a table; with --yes carry it out (the directory part, then each open case) and print the
    per-item log. Run it again to finish cases that failed."""
    console = out()
    with reported():
        try:
            spec = reorg.ReorganisationIn.model_validate_json(read_input(file))
        except ValidationError as exc:
            raise InvalidInput(code="reorganisation_invalid", detail="改革方案文件有误",
                               errors=problems_from(exc.errors())) from None
        with database() as engine:
            with read_only(engine) as session:
                plan = reorg.plan(session, principal=SYSTEM_PRINCIPAL, spec=spec)
            console.print(_plan_table(plan))
            if plan.refused:
                raise InvalidInput(code="reorganisation_refused",
                                   detail=f"改革方案有 {len(plan.refused)} 项无法办理，请先补全或修改方案")
            if not yes:
                console.print("以上为预览，未作任何修改；确认无误后加 --yes 执行。")
                return
            with progress_bar() as progress:
                task = progress.add_task("迁移在办办件", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                log = reorg.execute(lambda: unit_of_work(engine), principal=SYSTEM_PRINCIPAL, spec=spec,
                                    progress=advance, record=_record)
    failed = log.failed
    cases = [o for o in log.items if o.kind == "case"]
    for outcome in failed:
        console.print(f"[red]未完成[/red] {outcome.label}：{outcome.detail}", highlight=False)
    rest = f"，{len(failed)} 件未完成，可再次执行本命令继续" if failed else ""
    console.print(f"[green]执行完成[/green]：单位调整 {len(log.items) - len(cases)} 项，办件迁移 "
                  f"{len(cases) - len(failed)} 件{rest}")
    if failed:
        raise typer.Exit(1)


def _plan_table(plan: reorg.Plan) -> Table:
    title = f"{reorg.KIND_LABELS[plan.kind]}方案" + ("（单位调整已完成，剩余在办办件）" if plan.done_at else "")
    table = Table("类别", "对象", "办理", "状态", "说明", title=title, header_style="bold")
    for item in plan.items:
        state = reorg.STATE_LABELS[item.state]
        table.add_row(reorg.ITEM_LABELS[item.kind], item.label, item.action,
                      state if item.state == "moves" else f"[red]{state}[/red]", item.reason or "")
    return table


def _record(session: Session, action: str, key: str, detail: dict[str, object]) -> None:
    """The reorganisation's audit rows, as the operator's (the system)."""
    record(session, SYSTEM_PRINCIPAL, action, target_kind="reorganisation", target_id=key, detail=detail)
