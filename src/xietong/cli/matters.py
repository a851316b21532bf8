"""``xietong matters``: the matter library's command group — today ``dedup``, de-duplicating deployed matters
across regions (``catalog/dedup``).

``dedup`` reads a raw list, groups the same matter across regions, prints raw → base + implementations counts and
writes the proposal for review (``--out``). A reviewer may re-cut groups by editing the 组号 column and give the
file back (``--review``). Nothing is written to the database without ``--confirm``; with it, every base matter
and local matter is written in one transaction, or nothing with every problem listed (unknown units per row).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from xietong.catalog.dedup import xlsx
from xietong.catalog.dedup.grouping import group_matters
from xietong.catalog.dedup.proposal import Counts, Proposal, confirm
from xietong.catalog.dedup.units import region_names, with_units
from xietong.cli import app
from xietong.cli.common import database, out, progress_bar, read_input, reported
from xietong.db.session import read_only, unit_of_work

matters_app = typer.Typer(help="事项库：市县同事项去重 (matters)", no_args_is_help=True)
app.add_typer(matters_app, name="matters")

InputFile = Annotated[Path, typer.Argument(help="各地已部署事项清单 .xlsx", exists=True, dir_okay=False, readable=True)]
OutFile = Annotated[Path | None, typer.Option("--out", "-o", help="写出去重建议 .xlsx，供审核", dir_okay=False)]
ReviewFile = Annotated[
    Path | None,
    typer.Option("--review", help="审核后的去重建议 .xlsx（按“组号”拆分、合并）", exists=True, dir_okay=False),
]
Confirm = Annotated[bool, typer.Option("--confirm", help="确认写入事项库（一个事务，全部或全不）")]
Threshold = Annotated[float, typer.Option("--threshold", min=50, max=100, help="名称相似度阈值（0–100）")]


@matters_app.command("dedup", help="市县同事项去重：分组、生成基本目录与实施清单建议；加 --confirm 才写入")
def dedup(
    file: InputFile,
    out_file: OutFile = None,
    review: ReviewFile = None,
    confirmed: Confirm = False,
    threshold: Threshold = 85,
) -> None:
    """Group a raw list of deployed matters into base matters with implementations; write them on --confirm."""
    console = out()
    with reported():
        rows = xlsx.read_rows(read_input(file))
        with database() as engine:
            with read_only(engine) as session:
                rows, regions = with_units(session, rows), region_names(session)
            started = time.perf_counter()
            with progress_bar() as progress:
                task = progress.add_task("分组比对", total=None)
                proposal = group_matters(
                    rows,
                    regions=regions,
                    threshold=threshold,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
            elapsed = time.perf_counter() - started
            if review is not None:
                proposal.apply_review(xlsx.read_review(read_input(review)))
            _summary(proposal, elapsed)
            if out_file is not None:
                out_file.write_bytes(xlsx.write_proposal(proposal))
                console.print(f"去重建议已写出：{out_file}")
            if not confirmed:
                console.print("[yellow]未写入事项库[/yellow]：审核后加 --confirm 写入")
                return
            with unit_of_work(engine) as session:
                counts = confirm(session, proposal)
    console.print(f"[green]已写入事项库[/green]：{_counts_text(counts)}")


def _summary(proposal: Proposal, elapsed: float) -> None:
    counts = proposal.counts()
    console = out()
    console.print(f"{_counts_text(counts)}（分组用时 {elapsed:.2f} 秒）")
    console.print(
        f"其中 {counts.with_city} 条县级事项与市本级事项合并，县级自有基本事项 {counts.county_only_bases} 个；"
        f"相近未合并 {len(proposal.near_misses)} 对"
    )
    largest = sorted(proposal.groups, key=lambda g: (-len(g.rows), g.id))[:10]
    table = Table("组号", "基本事项", "编码", "实施数", "最低相似度", header_style="bold")
    for group in largest:
        scores = [e.score for e in group.evidence]
        table.add_row(
            str(group.id),
            group.base.name,
            group.base.code,
            str(len(group.rows)),
            f"{min(scores):.1f}" if scores else "—",
        )
    console.print(table)


def _counts_text(counts: Counts) -> str:
    return f"{counts.raw} 条原始事项 → {counts.base} 个基本事项 + {counts.local} 个实施清单"
