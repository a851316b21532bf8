"""``xietong matters split`` / ``merge`` / ``lineage``: matter granularity from the command line
(``catalog/granularity.py``, ``catalog/merging.py``).

Both operations print their plan first and write nothing without ``--yes``; with it the whole operation is one
transaction and one audit record (actor: the system).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.catalog.granularity import SplitPlan, lineage_of, parse_sub_item, plan_split, split_matter
from xietong.catalog.merging import LAYOUTS, Layout, MergePlan, merge_matters, plan_merge
from xietong.catalog.models import BaseMatter, LocalMatter
from xietong.cli.common import database, out, reported
from xietong.cli.matters import matters_app
from xietong.db.session import read_only, unit_of_work
from xietong.errors import NotFound
from xietong.security.audit import record
from xietong.security.principal import SYSTEM_PRINCIPAL

Reason = Annotated[str, typer.Option("--reason", help="拆分或合并的理由（记入沿革与审计）")]
Yes = Annotated[bool, typer.Option("--yes", help="确认写入（不加则只打印方案）")]
Publish = Annotated[bool, typer.Option("--publish", help="立即发布新事项并废止原事项")]
ITEM_HELP = "子项：名称|材料编码,…|字段,…（材料、字段可省略，省略即全部保留），可重复"


def _base_id(session: Session, code: str) -> int:
    found = session.scalar(select(BaseMatter.id).where(BaseMatter.code == code))
    if found is None:
        raise NotFound(code="base_matter_not_found", detail=f"基本目录事项不存在：{code}")
    return found


def _local_id(session: Session, code: str) -> int:
    found = session.scalar(select(LocalMatter.id).where(LocalMatter.code == code))
    if found is None:
        raise NotFound(code="matter_not_found", detail=f"实施清单事项不存在：{code}")
    return found


@matters_app.command("split", help="拆分事项为子项（主项 → 子项 → 业务办理项）；不加 --yes 只打印方案")
def split(
    base_code: Annotated[str, typer.Argument(help="基本目录事项编码")],
    items: Annotated[list[str], typer.Option("--item", help=ITEM_HELP)],
    reason: Reason = "",
    publish: Publish = False,
    yes: Yes = False,
) -> None:
    """Plan (and with --yes write) a split of a base matter and its implementations."""
    console = out()
    with reported(), database() as engine:
        subs = [parse_sub_item(i) for i in items]
        with read_only(engine) as session:
            plan = plan_split(session, base_matter_id=_base_id(session, base_code), items=subs)
        _print_split(plan)
        if not yes:
            console.print("[yellow]未写入[/yellow]：确认无误后加 --yes 写入")
            return
        with unit_of_work(engine) as session:
            result = split_matter(session, base_matter_id=plan.base_id, items=subs, reason=reason, by_id=None,
                                  publish=publish)
            record(session, SYSTEM_PRINCIPAL, "catalog.matter_split", target_kind="base_matter",
                   target_id=plan.base_id, detail={"operation": result.operation, "reason": reason,
                                                   "children": [c.code for c in plan.children], "published": publish})
    console.print(f"[green]已拆分[/green]：{len(result.base_ids)} 个子项，{len(result.local_ids)} 个实施清单"
                  + ("，已发布，原事项已废止" if publish else "（草稿，全部发布后原事项废止）"))


def _print_split(plan: SplitPlan) -> None:
    table = Table("子项编码", "名称", "实施清单", "保留材料", "去掉的字段", header_style="bold")
    for child in plan.children:
        for impl in child.implementations or [None]:
            table.add_row(child.code, child.name, impl.code if impl else "—",
                          ",".join(m["code"] for m in impl.materials) if impl else "—",
                          ",".join(impl.dropped_fields) if impl and impl.dropped_fields else "—")
    out().print(f"拆分 {plan.base_code}（成为主项/子项后其下 {len(plan.children)} 项）：")
    out().print(table)


@matters_app.command("merge", help="把同一区划的若干事项合并为一件事（联办）；不加 --yes 只打印方案")
def merge(
    codes: Annotated[list[str], typer.Argument(help="被合并的实施清单事项编码（按流程先后）")],
    code: Annotated[str, typer.Option("--code", help="一件事的基本目录编码")],
    name: Annotated[str, typer.Option("--name", help="一件事名称")],
    reason: Reason = "",
    lead: Annotated[str | None, typer.Option("--lead", help="牵头事项编码（默认第一个）")] = None,
    parallel: Annotated[bool, typer.Option("--parallel", help="并联办理：各事项同时办理，时限取最长（默认依次办理）")]
    = False,
    publish: Publish = False,
    yes: Yes = False,
) -> None:
    """Plan (and with --yes write) a merge of local matters into one joint matter."""
    console = out()
    with reported(), database() as engine:
        with read_only(engine) as session:
            ids = [_local_id(session, c) for c in codes]
            lead_id = _local_id(session, lead) if lead else None
            layout: Layout = "parallel" if parallel else "sequential"
            plan = plan_merge(session, local_matter_ids=ids, code=code, name=name, lead_id=lead_id, layout=layout)
        _print_merge(plan)
        if not yes:
            console.print("[yellow]未写入[/yellow]：确认无误后加 --yes 写入")
            return
        with unit_of_work(engine) as session:
            result = merge_matters(session, local_matter_ids=ids, code=code, name=name, reason=reason, by_id=None,
                                   lead_id=lead_id, publish=publish, layout=layout)
            record(session, SYSTEM_PRINCIPAL, "catalog.matters_merged", target_kind="local_matter",
                   target_id=result.local_id, detail={"operation": result.operation, "reason": reason,
                                                      "originals": list(codes), "published": publish})
    console.print(f"[green]已合并[/green]：一件事 {plan.local_code}"
                  + ("，已发布，原事项已废止" if publish else "（草稿，发布后原事项废止）"))


def _print_merge(plan: MergePlan) -> None:
    console = out()
    described = plan.described()
    console.print(f"一件事 {plan.name}（{plan.local_code}），合并 {len(plan.originals)} 个事项："
                  f"{'、'.join(c for _, c in plan.originals)}，{LAYOUTS[plan.layout]}；"
                  f"承诺时限 {plan.promised_limit_days} 个工作日")
    console.print(f"流程环节：{' → '.join(described['steps'])}")
    table = Table("材料编码", "名称", "合并自", header_style="bold")
    for m in plan.merged_materials:
        table.add_row(m.code, m.name, "；".join(f"{s[0]} {s[1]}" for s in m.sources))
    console.print(table)
    if plan.shared_fields:
        console.print(f"共用的表单字段：{'、'.join(plan.shared_fields)}")


@matters_app.command("lineage", help="事项沿革：同组事项与拆分、合并记录")
def lineage(code: Annotated[str, typer.Argument(help="实施清单事项编码")]) -> None:
    """Print a local matter's lineage group."""
    console = out()
    with reported(), database() as engine, read_only(engine) as session:
        found = lineage_of(session, local_matter_id=_local_id(session, code))
        console.print(f"沿革组 {found.lineage_key}：{len(found.members)} 个事项")
        table = Table("时间", "类型", "原事项", "新事项", "理由", header_style="bold")
        for e in found.edges:
            table.add_row(e.at[:19], "拆分" if e.kind == "split" else "合并", e.predecessor_code, e.successor_code,
                          e.reason)
        console.print(table)
