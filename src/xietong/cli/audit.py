"""``xietong audit``: verify the tamper-evident chains, sign a checkpoint, prune past the retention period."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from xietong.cli import app
from xietong.cli.common import EXIT_FAILED, database, out, reported
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.db.session import read_only, unit_of_work
from xietong.security import audit_chain
from xietong.system.secret import instance_secret

audit_app = typer.Typer(help="审计日志：校验防篡改链、签名检查点、按保留期清理", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

CHAIN_NAMES = {audit_chain.AUDIT: "审计记录链", audit_chain.EVENTS: "全局事件链"}


@audit_app.command("verify", help="校验审计记录链与全局事件链，报告第一处断裂；有断裂时以非零状态退出")
def verify() -> None:
    settings = Settings()
    with reported(), database() as engine:
        with unit_of_work(engine) as session:
            secret = instance_secret(session, settings.secret_key)
        with read_only(engine) as session:
            results = [
                audit_chain.verify_audit(session, secret=secret),
                audit_chain.verify_events(session, secret=secret),
            ]
    table = Table("链", "结果", "已校验", "链头", "检查点", "说明", header_style="bold")
    for result in results:
        status = "[green]完整[/green]" if result.ok else "[bold red]断裂[/bold red]"
        note = result.first_break.detail if result.first_break else (
            f"{result.unchained} 条事件尚待串链" if result.unchained else ""
        )
        table.add_row(
            CHAIN_NAMES[result.chain], status, str(result.checked), str(result.head_seq), str(result.checkpoints), note
        )
    out().print(table)
    if not all(result.ok for result in results):
        raise typer.Exit(EXIT_FAILED)


@audit_app.command("checkpoint", help="立即为两条链的当前链头签名一个检查点")
def checkpoint() -> None:
    settings = Settings()
    with reported(), database() as engine, unit_of_work(engine) as session:
        secret = instance_secret(session, settings.secret_key)
        for chain in audit_chain.CHAINS:
            made = audit_chain.sign_checkpoint(session, secret=secret, chain=chain, now=utcnow())
            out().print(f"{CHAIN_NAMES[chain]}：检查点签到第 {made.seq} 条")


@audit_app.command("prune", help="删除超过保留期（XIETONG_AUDIT_RETENTION_DAYS，至少 183 天）的审计记录")
def prune(
    older_than_days: Annotated[int | None, typer.Option(help="只删除早于这么多天的记录（不少于保留期）")] = None,
) -> None:
    settings = Settings()
    days = max(older_than_days or 0, settings.audit_retention_days)
    now = utcnow()
    with reported(), database() as engine, unit_of_work(engine) as session:
        removed = audit_chain.prune_audit(
            session, before=now - timedelta(days=days), retention_days=settings.audit_retention_days, now=now
        )
    out().print(f"已删除 {removed} 条早于 {days} 天的审计记录；链的起点已随之移动")
