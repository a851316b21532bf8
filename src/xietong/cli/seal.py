"""``xietong seal verify FILE`` and ``xietong archive check FILE``: check a sealed PDF or an archive package
from the file alone (the signer's certificate travels in it); non-zero exit when anything is wrong.
``xietong seal issue --unit CODE`` makes a unit's seal ahead of its first use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from xietong.cli import app
from xietong.cli.common import EXIT_FAILED, database, out, reported
from xietong.config import Settings
from xietong.db.session import unit_of_work
from xietong.directory.models import Unit
from xietong.errors import NotFound
from xietong.integrations.archive.check import four_checks
from xietong.integrations.seal import service as seals
from xietong.system.secret import instance_secret

seal_app = typer.Typer(help="电子印章：验证已签章的文件", no_args_is_help=True)
archive_app = typer.Typer(help="电子档案：档案信息包的四性检测", no_args_is_help=True)
app.add_typer(seal_app, name="seal")
app.add_typer(archive_app, name="archive")

FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


@seal_app.command("verify", help="验证 PDF 的电子签章：内容或签名有任何改动都会被发现；有问题时以非零状态退出")
def verify(file: FileArgument) -> None:
    result = seals.verify(None, file.read_bytes())
    table = Table("项目", "内容", header_style="bold", show_header=False)
    table.add_row("结果", "[green]签章有效，文件未被改动[/green]" if result["ok"] else "[bold red]签章无效[/bold red]")
    for problem in result["problems"]:
        table.add_row("问题", problem)
    signer = result.get("signer") or {}
    for label, value in (("印章", result.get("seal")), ("印章编码", result.get("es_id")),
                         ("签章单位", signer.get("unit")), ("签章服务", signer.get("service")),
                         ("签章时间", result.get("time")), ("SM3 摘要", result.get("data_hash"))):
        if value:
            table.add_row(label, str(value))
    out().print(table)
    if not result["ok"]:
        raise typer.Exit(EXIT_FAILED)


@seal_app.command("issue", help="为单位生成电子印章（SM2 密钥对与印模；已有则显示现有印章），私钥加密保存")
def issue(unit: Annotated[str, typer.Option("--unit", help="单位代码")]) -> None:
    settings = Settings()
    with reported(), database() as engine, unit_of_work(engine) as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit))
        if unit_id is None:
            raise NotFound(code="unit_not_found", detail=f"没有代码为 {unit} 的单位")
        seal = seals.ensure_seal(session, unit_id, instance_secret(session, settings.secret_key))
        out().print(f"{seal.name}  印章编码 {seal.es_id}\n公钥 {seal.public_key}", highlight=False)


@archive_app.command("check", help="对档案信息包（ZIP）做四性检测；未通过时以非零状态退出")
def check(file: FileArgument) -> None:
    report = four_checks(file.read_bytes())
    table = Table("检测", "项目", "结果", "说明", header_style="bold")
    for check in report["checks"].values():
        for item in check["items"]:
            table.add_row(check["label"], item["name"], "[green]通过[/green]" if item["passed"]
                          else "[bold red]未通过[/bold red]", item["detail"])
    out().print(table)
    out().print(f"档号 {report['archival_code'] or '（无）'}；信息包 SM3 {report['package_sm3']}")
    out().print("[green]四性检测通过[/green]" if report["passed"] else "[bold red]四性检测未通过[/bold red]")
    if not report["passed"]:
        raise typer.Exit(EXIT_FAILED)
