"""De-duplicating deployed matters: grouping quality on a generated reference-size list and on hand-labelled tricky
names, the reviewer's split and merge, confirm in one transaction, the spreadsheets and the CLI."""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import xietong.cli.matters  # noqa: F401  (registers the command group on the root app)
from tests.catalog.dedup_fixture import generate, read_truth, write_list, write_truth
from tests.cli.conftest import CliDb, cli_db, cli_template  # noqa: F401  (fixtures for the CLI test)
from xietong.catalog.dedup import proposal as proposal_module
from xietong.catalog.dedup import xlsx
from xietong.catalog.dedup.grouping import EXACT, group_matters
from xietong.catalog.dedup.normalise import normalise_name
from xietong.catalog.dedup.proposal import MANUAL, Proposal, confirm
from xietong.catalog.dedup.rows import RawRow
from xietong.catalog.models import BaseMatter, LocalMatter
from xietong.db.session import unit_of_work
from xietong.directory.models import Region, Unit
from xietong.errors import InvalidInput

TRICKY = Path(__file__).parent / "fixtures" / "dedup_tricky.csv"


# --- helpers -----------------------------------------------------------------------------------------------------


def pairwise(predicted: dict[int, object], truth: dict[int, str]) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping against the true one."""

    def pairs(counter: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    together = pairs(Counter((predicted[n], truth[n]) for n in truth))
    return together / pairs(Counter(predicted.values())), together / pairs(Counter(truth.values()))


def tricky_rows() -> tuple[list[RawRow], dict[int, str]]:
    rows, labels = [], {}
    with TRICKY.open(encoding="utf-8") as handle:
        for number, line in enumerate(csv.DictReader(handle), start=2):
            region, function = line["region_code"], line["function"]
            rows.append(
                RawRow(
                    number=number,
                    name=line["name"],
                    code="",
                    unit_name=f"{region}{function}单位",
                    unit_code=f"{region}.{function}",
                    uscc="",
                    region_code=region,
                    kind="promised",
                    legal_limit_days=10,
                    promised_limit_days=5,
                    function=function,
                )
            )
            labels[number] = line["group"]
    return rows, labels


def partition(groups: Iterable[Iterable[int]]) -> set[frozenset[int]]:
    return {frozenset(group) for group in groups}


def build_directory(session: Session, rows: Iterable[RawRow]) -> None:
    """Regions and units the rows name (unit code ``<region>.<function>``)."""
    rows = list(rows)
    regions = {region.code: region for region in session.scalars(select(Region))}
    for code in sorted({row.region_code for row in rows} - set(regions)):
        regions[code] = Region(code=code, name=f"测试区{code}", level="city" if code.endswith("00") else "county")
        session.add(regions[code])
    session.flush()
    for code in sorted({row.unit_code for row in rows}):
        region, function = code.split(".")
        unit = Unit(code=code, region_id=regions[region].id, name=f"{region}{function}单位", function=function)
        session.add(unit)
        session.flush()
        unit.path = f"/{unit.id}/"
    session.flush()


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def group_of(proposal: Proposal, number: int) -> int:
    return next(group.id for group in proposal.groups for row in group.rows if row.number == number)


# --- grouping quality ------------------------------------------------------------------------------------------


def test_generated_reference_list_is_grouped_with_high_precision_and_recall(tmp_path: Path) -> None:
    generated = generate()
    listing = write_list(generated.rows, tmp_path / "deployed.xlsx")
    truth_file = write_truth(generated.truth, tmp_path / "truth.json")
    # From here on the deduper sees only the spreadsheet and the directory; the truth is read back after grouping.
    rows = [row.with_unit(*generated.directory[row.uscc]) for row in xlsx.read_rows(listing.read_bytes())]
    assert 3_000 <= len(rows) <= 3_400
    assert len({row.region_code for row in rows}) == 11

    started = time.perf_counter()
    proposal = group_matters(rows)
    elapsed = time.perf_counter() - started

    truth = read_truth(truth_file)
    predicted = {row.number: group.id for group in proposal.groups for row in group.rows}
    precision, recall = pairwise(predicted, truth)
    counts = proposal.counts()
    print(
        f"\n{counts.raw} raw → {counts.base} base + {counts.local} implementations (true bases: "
        f"{len(set(truth.values()))}); pairwise precision {precision:.4f}, recall {recall:.4f}; "
        f"grouping {elapsed:.2f} s"
    )
    assert precision >= 0.95
    assert recall >= 0.95
    assert elapsed < 10
    names_only = group_matters([replace(row, code="") for row in rows])
    p2, r2 = pairwise({row.number: g.id for g in names_only.groups for row in g.rows}, truth)
    print(f"names only (codes blanked): precision {p2:.4f}, recall {r2:.4f}")
    assert p2 >= 0.95 and r2 >= 0.95


def test_tricky_names_fall_into_exactly_the_hand_labelled_groups() -> None:
    rows, labels = tricky_rows()
    proposal = group_matters(rows)
    expected: dict[str, set[int]] = {}
    for number, label in labels.items():
        expected.setdefault(label, set()).add(number)
    got = partition([row.number for row in group.rows] for group in proposal.groups)
    names = {row.number: row.name for row in rows}
    wrong = got ^ partition(expected.values())
    assert not wrong, [[names[n] for n in sorted(group)] for group in wrong]


def test_every_joined_row_carries_its_evidence_and_near_misses_say_why() -> None:
    rows, _ = tricky_rows()
    proposal = group_matters(rows)
    for group in proposal.groups:
        if len(group.rows) > 1:
            assert all(group.similarity(row.number) is not None for row in group.rows)
    by_name = {row.name: row.number for row in rows}
    special = next(g for g in proposal.groups if any(r.number == by_name["专项资金拨付"] for r in g.rows))
    assert special.base.name == "专项资金拨付"  # the city's row names the base matter
    assert {e.rule for e in special.evidence} == {EXACT}
    reasons = {frozenset((m.a, m.b)): m.reason for m in proposal.near_misses}
    assert reasons[frozenset((by_name["内设机构调整审核"], by_name["机构设置调整审核"]))].startswith("对象不同")
    assert "调入 / 调出" in reasons[frozenset((by_name["人员调入审核"], by_name["人员调出审核"]))]


def test_normalisation_is_word_order_width_and_prefix_insensitive() -> None:
    a = normalise_name("丽水市财政局专项资金拨付", unit_names=["丽水市财政局"])
    b = normalise_name("青田县 拨付专项资金（县级）")
    c = normalise_name("专项资金拨款（预拨）")
    assert a.key == b.key and a.display == "专项资金拨付" and b.display == "拨付专项资金"
    assert c.key != a.key and c.key_verbs == ("预拨",)
    assert normalise_name("档案借阅（批量）").qualifiers == ("批量",)


def test_cannot_link_keeps_one_units_two_rows_apart() -> None:
    row = RawRow(2, "专项资金拨付", "", "财政局", "U1", "", "331121", "promised", 10, 5, "finance")
    twin = replace(row, number=3, name="专项资金拨款")
    other = replace(row, number=4, unit_code="U2", region_code="331122")
    proposal = group_matters([row, twin, other])
    assert partition([r.number for r in g.rows] for g in proposal.groups) == {frozenset({2, 4}), frozenset({3})}


# --- review: split, merge --------------------------------------------------------------------------------------


def test_split_and_merge_recut_groups_and_repropose_their_base() -> None:
    rows, _ = tricky_rows()
    proposal = group_matters(rows)
    by_name = {row.name: row.number for row in rows}
    special = proposal.group(group_of(proposal, by_name["专项资金拨付"]))
    size = len(special.rows)
    moved = proposal.split(special.id, [by_name["专项经费下拨"], by_name["拨付专项资金"]])
    assert len(special.rows) == size - 2 and len(moved.rows) == 2
    assert moved.base.code != special.base.code
    assert all(e.a in {r.number for r in moved.rows} for e in moved.evidence)
    merged = proposal.merge([special.id, moved.id])
    assert len(merged.rows) == size and MANUAL in {e.rule for e in merged.evidence}
    assert merged.base.name == "专项资金拨付"
    with pytest.raises(InvalidInput):
        proposal.split(merged.id, [row.number for row in merged.rows])
    with pytest.raises(InvalidInput):
        proposal.merge([merged.id])


def test_a_reviewed_proposal_round_trips_through_xlsx(tmp_path: Path) -> None:
    rows, _ = tricky_rows()
    proposal = group_matters(rows)
    by_name = {row.name: row.number for row in rows}
    path = tmp_path / "proposal.xlsx"
    path.write_bytes(xlsx.write_proposal(proposal))
    assignment = xlsx.read_review(path.read_bytes())
    assert assignment == {row.number: str(group.id) for group in proposal.groups for row in group.rows}
    assert load_workbook(path)["相近未合并"].max_row == len(proposal.near_misses) + 1
    before = len(proposal.groups)
    assignment[by_name["机构设置调整审核"]] = assignment[by_name["内设机构调整审核"]]  # merge J into I
    assignment[by_name["拨付专项资金"]] = "new"  # split a row out
    proposal.apply_review(assignment)
    assert len(proposal.groups) == before
    assert group_of(proposal, by_name["机构设置调整审核"]) == group_of(proposal, by_name["内设机构调整审核"])
    assert group_of(proposal, by_name["拨付专项资金"]) != group_of(proposal, by_name["专项资金拨付"])


# --- confirm: one transaction, on both databases -------------------------------------------------------------


def test_confirm_writes_base_and_local_matters_in_one_go(session: Session) -> None:
    rows, labels = tricky_rows()
    build_directory(session, rows)
    proposal = group_matters(rows)
    bases, locals_ = count(session, BaseMatter), count(session, LocalMatter)
    counts = confirm(session, proposal)
    assert (counts.raw, counts.base, counts.local) == (len(rows), len(set(labels.values())), len(rows))
    assert count(session, BaseMatter) == bases + counts.base
    assert count(session, LocalMatter) == locals_ + counts.local
    special = session.scalars(select(BaseMatter).where(BaseMatter.name == "专项资金拨付")).one()
    implementations = session.scalars(select(LocalMatter).where(LocalMatter.base_matter_id == special.id)).all()
    assert len(implementations) == 5 and special.function == "finance"


def test_confirm_refuses_unknown_units_and_clashes_and_writes_nothing(session: Session) -> None:
    rows, _ = tricky_rows()
    build_directory(session, rows[:-1])  # the last row's unit is unknown
    proposal = group_matters(rows)
    clash = replace(rows[1], number=99, name="专项资金拨付（追加）")  # same unit as row 3, merged into its group
    proposal.names[99] = normalise_name(clash.name)
    proposal.group(group_of(proposal, 3)).rows.append(clash)
    bases = count(session, BaseMatter)
    with pytest.raises(InvalidInput) as caught:
        confirm(session, proposal)
    messages = {(p.field, p.message) for p in caught.value.errors}
    unknown = f"第 {rows[-1].number} 行", "实施主体“331102statistics单位”（331102.statistics）在单位库中不存在"
    assert unknown in messages
    assert any(field == "第 99 行" and "同一实施主体" in message for field, message in messages)
    assert caught.value.code == "dedup_inconsistent" and "未写入任何数据" in caught.value.detail
    assert count(session, BaseMatter) == bases


def test_confirm_rolls_back_everything_when_a_write_fails_midway(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, _ = tricky_rows()
    build_directory(session, rows)
    proposal = group_matters(rows)
    real = proposal_module.create_local_matter
    calls = iter(range(1_000))

    def failing(*args: object, **kwargs: object) -> LocalMatter:
        if next(calls) == 20:
            raise InvalidInput(code="boom", detail="模拟写入失败")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(proposal_module, "create_local_matter", failing)
    bases, locals_ = count(session, BaseMatter), count(session, LocalMatter)
    with pytest.raises(InvalidInput, match="模拟写入失败"):
        confirm(session, proposal)
    assert (count(session, BaseMatter), count(session, LocalMatter)) == (bases, locals_)


def test_confirm_refuses_a_base_code_already_in_the_library(session: Session) -> None:
    rows, _ = tricky_rows()
    build_directory(session, rows)
    proposal = group_matters(rows)
    first = proposal.groups[0]
    session.add(BaseMatter(code=first.base.code, name="已有事项", kind="promised", legal_limit_days=5))
    session.flush()
    with pytest.raises(InvalidInput) as caught:
        confirm(session, proposal)
    assert [p.field for p in caught.value.errors] == [f"分组 {first.id}"]


# --- the raw list spreadsheet --------------------------------------------------------------------------------


def test_a_bad_list_is_refused_whole_with_row_numbers_and_reasons(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        ["事项名称", "事项编码", "实施主体", "统一社会信用代码", "行政区划代码", "法定时限", "承诺时限", "事项类型"]
    )
    sheet.append(["专项资金拨付", "A1", "财政局", "", "331100", 10, 5, "承诺件"])
    sheet.append(["", "A2", "财政局", "123", "3311", 5, 8, "特办件"])
    sheet.append(["专项资金拨付", "A3", "某局", "", "331121", 10, 12, "承诺件"])
    path = tmp_path / "bad.xlsx"
    book.save(path)
    with pytest.raises(InvalidInput) as caught:
        xlsx.read_rows(path.read_bytes())
    problems = [(p.field, p.message) for p in caught.value.errors]
    assert ("第 2 行", "实施主体编码和统一社会信用代码至少填写一项") in problems
    assert ("第 3 行", "事项名称不能为空") in problems
    assert ("第 3 行", "统一社会信用代码应为 18 位，实际为 3 位") in problems
    assert ("第 3 行", "行政区划代码应为 6 位数字：3311") in problems
    assert ("第 3 行", "事项类型只能是即办件或承诺件：特办件") in problems
    assert ("第 4 行", "承诺时限（12）不能超过法定时限（10）") in problems
    assert "有 3 行数据有误" in caught.value.detail


def test_a_list_without_unit_columns_is_refused(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["事项名称", "事项编码", "实施主体", "行政区划代码", "法定时限", "承诺时限", "事项类型"])
    sheet.append(["专项资金拨付", "A1", "财政局", "331100", 10, 5, "承诺件"])
    path = tmp_path / "cols.xlsx"
    book.save(path)
    with pytest.raises(InvalidInput) as caught:
        xlsx.read_rows(path.read_bytes())
    assert [p.message for p in caught.value.errors] == ["缺少列：实施主体编码或统一社会信用代码（至少一列）"]


# --- the command ---------------------------------------------------------------------------------------------


def test_cli_dedup_proposes_without_writing_then_writes_the_reviewed_proposal_on_confirm(cli_db: CliDb) -> None:  # noqa: F811
    rows, labels = tricky_rows()
    with unit_of_work(cli_db.engine) as session:
        build_directory(session, rows)
    listing = write_list(rows, cli_db.data_dir / "deployed.xlsx")
    proposal_file = cli_db.data_dir / "proposal.xlsx"
    bases = len(set(labels.values()))

    result = cli_db.run("matters", "dedup", str(listing), "--out", str(proposal_file))
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} 条原始事项 → {bases} 个基本事项 + {len(rows)} 个实施清单" in result.output
    assert "未写入事项库" in result.output
    with unit_of_work(cli_db.engine) as session:
        assert count(session, BaseMatter) == 0

    book = load_workbook(proposal_file)
    sheet = book["分组"]
    group_by_name = {r[8]: r[0] for r in sheet.iter_rows(min_row=2, values_only=True)}
    for r in sheet.iter_rows(min_row=2):
        if r[8].value == "机构设置调整审核":
            r[0].value = group_by_name["内设机构调整审核"]  # the reviewer merges J into I
    book.save(proposal_file)
    result = cli_db.run("matters", "dedup", str(listing), "--review", str(proposal_file), "--confirm")
    assert result.exit_code == 0, result.output
    assert f"已写入事项库：{len(rows)} 条原始事项 → {bases - 1} 个基本事项" in result.output
    with unit_of_work(cli_db.engine) as session:
        assert (count(session, BaseMatter), count(session, LocalMatter)) == (bases - 1, len(rows))


def test_cli_dedup_confirm_reports_unknown_units_per_row_and_writes_nothing(cli_db: CliDb) -> None:  # noqa: F811
    rows, _ = tricky_rows()
    with unit_of_work(cli_db.engine) as session:
        build_directory(session, rows[:-1])
    listing = write_list(rows, cli_db.data_dir / "deployed.xlsx")
    result = cli_db.run("matters", "dedup", str(listing), "--confirm")
    assert result.exit_code == 1
    assert f"第 {rows[-1].number} 行" in result.output and "在单位库中不存在" in result.output
    with unit_of_work(cli_db.engine) as session:
        assert count(session, BaseMatter) == 0
