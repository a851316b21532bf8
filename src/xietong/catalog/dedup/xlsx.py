"""Spreadsheets of de-duplication: the raw deployed list in (all or nothing), the proposal out for review, and
the reviewed proposal back in.

The raw list: the first worksheet, row 1 the header matched by title (order free, extra columns ignored):
事项名称, 事项编码, 实施主体, 行政区划代码, 法定时限, 承诺时限, 事项类型 and at least one of 实施主体编码 and
统一社会信用代码 (each row fills at least one). Blank rows are skipped; at most 20,000 data rows. Every row is
checked before anything is returned; any bad row raises ``InvalidInput`` (``import_rows_invalid``) listing every
problem as ``第 N 行`` with a Chinese reason.

The proposal: sheet 分组 lists every row under its group (组号) with the proposed base matter, the similarity
that joined the row and the rules; sheet 相近未合并 lists similar rows a guard rail kept apart. To split or merge,
a reviewer changes the 组号 of rows and gives the file back (``read_review``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from pydantic_core import PydanticCustomError

from xietong.catalog.dedup.normalise import fold
from xietong.catalog.dedup.proposal import Proposal
from xietong.catalog.dedup.rows import KIND_LABELS, KIND_NAMES, RawRow
from xietong.directory.schemas import check_uscc
from xietong.errors import FieldProblem, InvalidInput
from xietong.spreadsheets import cell_text, read_workbook

COLUMNS = {
    "name": "事项名称",
    "code": "事项编码",
    "unit_name": "实施主体",
    "unit_code": "实施主体编码",
    "uscc": "统一社会信用代码",
    "region_code": "行政区划代码",
    "legal_limit_days": "法定时限",
    "promised_limit_days": "承诺时限",
    "kind": "事项类型",
}
UNIT_REFS = ("unit_code", "uscc")
GROUP_HEADER = (
    "组号", "基本事项名称", "基本事项编码", "事项类型", "法定时限", "职能", "实施数",
    "行号", "事项名称", "事项编码", "行政区划代码", "实施主体", "相似度", "依据",
)  # fmt: skip
MISS_HEADER = ("组号", "行号", "事项名称", "相近组号", "相近行号", "相近事项名称", "相似度", "未合并原因")
MAX_ROWS = 20_000
MAX_COLUMNS = 50
_REGION_RE = re.compile(r"^\d{6}$")

Problems = list[tuple[int, str]]


def read_rows(data: bytes) -> list[RawRow]:
    """The raw deployed matters of an .xlsx, every row checked; all or nothing (see the module doc)."""
    header, lines = _sheet(data, "")
    positions, problems = _positions(header)
    _raise_if_any(problems)
    rows: list[RawRow] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, values in lines:
        cells = {name: values[i] if i < len(values) else "" for name, i in positions.items()}
        row, row_problems = _row(number, cells)
        problems += [(number, message) for message in row_problems]
        if row is None:
            continue
        key = (row.region_code, row.unit_ref, fold(row.name))
        first = seen.setdefault(key, number)
        if first != number:
            problems.append((number, f"与第 {first} 行重复：同一实施主体的同名事项"))
        rows.append(row)
    if not rows and not problems:
        raise InvalidInput(code="import_no_rows", detail="表格中只有表头，没有数据行")
    _raise_if_any(problems)
    return rows


def write_proposal(proposal: Proposal) -> bytes:
    """The proposal as .xlsx for review: one row per raw row under its group, then the near misses."""
    workbook = Workbook(write_only=True)
    groups = workbook.create_sheet("分组")
    groups.freeze_panes = "A2"
    groups.append(list(GROUP_HEADER))
    for group in proposal.groups:
        base = group.base
        for i, row in enumerate(group.rows):
            head: list[Any] = [group.id]
            head += [
                base.name,
                base.code,
                KIND_NAMES[base.kind],
                base.legal_limit_days,
                base.function or "",
                len(group.rows),
            ]
            if i:
                head = [group.id, "", "", "", "", "", ""]
            score = group.similarity(row.number)
            groups.append(
                [*head, row.number, row.name, row.code, row.region_code, row.unit_name,
                 "" if score is None else score, "、".join(group.rules(row.number))]
            )  # fmt: skip
    misses = workbook.create_sheet("相近未合并")
    misses.append(list(MISS_HEADER))
    group_of = {row.number: group.id for group in proposal.groups for row in group.rows}
    raw = {row.number: row.name for group in proposal.groups for row in group.rows}
    for miss in proposal.near_misses:
        misses.append(
            [group_of[miss.a], miss.a, raw[miss.a], group_of[miss.b], miss.b, raw[miss.b], miss.score, miss.reason]
        )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_review(data: bytes) -> dict[int, str]:
    """A reviewed proposal's assignment: row number (行号) → group label (组号), from sheet 分组."""
    header, lines = _sheet(data, "分组")
    try:
        group_at, row_at = header.index("组号"), header.index("行号")
    except ValueError:
        raise InvalidInput(code="review_header", detail="审核表缺少“组号”或“行号”列") from None
    assignment: dict[int, str] = {}
    problems: Problems = []
    for number, values in lines:
        label, row_text = _cell(values, group_at), _cell(values, row_at)
        if not row_text.isdigit() or not label:
            problems.append((number, "行号须为整数且组号不能为空"))
        elif int(row_text) in assignment:
            problems.append((number, f"行号 {row_text} 出现了两次"))
        else:
            assignment[int(row_text)] = label
    _raise_if_any(problems)
    return assignment


# --- one row -------------------------------------------------------------------------------------------------


def _row(number: int, cells: dict[str, str]) -> tuple[RawRow | None, list[str]]:
    problems: list[str] = []
    for name in ("name", "unit_name", "region_code", "kind"):
        if not cells.get(name):
            problems.append(f"{COLUMNS[name]}不能为空")
    for name, limit in (("name", 200), ("unit_name", 200), ("code", 64), ("unit_code", 64)):
        if len(cells.get(name, "")) > limit:
            problems.append(f"{COLUMNS[name]}不能超过 {limit} 个字")
    if not any(cells.get(name) for name in UNIT_REFS):
        problems.append("实施主体编码和统一社会信用代码至少填写一项")
    uscc = cells.get("uscc", "")
    if uscc:
        try:
            uscc = check_uscc(uscc)
        except PydanticCustomError as exc:
            problems.append(exc.message())
    if cells.get("region_code") and not _REGION_RE.match(cells["region_code"]):
        problems.append(f"行政区划代码应为 6 位数字：{cells['region_code']}")
    kind = KIND_LABELS.get(cells.get("kind", ""))
    if cells.get("kind") and kind is None:
        problems.append(f"事项类型只能是即办件或承诺件：{cells['kind']}")
    legal, promised = _days(cells, "legal_limit_days", problems), _days(cells, "promised_limit_days", problems)
    if legal is not None and promised is not None and kind == "promised":
        if legal == 0:
            problems.append("承诺件的法定时限应大于 0")
        elif promised > legal:
            problems.append(f"承诺时限（{promised}）不能超过法定时限（{legal}）")
    if problems or kind is None or legal is None or promised is None:
        return None, problems
    row = RawRow(
        number=number,
        name=cells["name"],
        code=cells.get("code", ""),
        unit_name=cells["unit_name"],
        unit_code=cells.get("unit_code", ""),
        uscc=uscc,
        region_code=cells["region_code"],
        kind=kind,
        legal_limit_days=legal,
        promised_limit_days=promised,
    )
    return row, []


def _days(cells: dict[str, str], name: str, problems: list[str]) -> int | None:
    text = cells.get(name, "")
    if text == "":
        return 0
    if not text.isdigit() or int(text) > 365:
        problems.append(f"{COLUMNS[name]}应为 0–365 的整数（工作日）：{text}")
        return None
    return int(text)


def _positions(header: list[str]) -> tuple[dict[str, int], Problems]:
    positions: dict[str, int] = {}
    problems: Problems = []
    for name, title in COLUMNS.items():
        found = [i for i, text in enumerate(header) if text == title]
        if len(found) > 1:
            problems.append((1, f"列“{title}”出现了 {len(found)} 次"))
        elif found:
            positions[name] = found[0]
        elif name not in UNIT_REFS:
            problems.append((1, f"缺少列：{title}"))
    if not any(name in positions for name in UNIT_REFS):
        problems.append((1, "缺少列：实施主体编码或统一社会信用代码（至少一列）"))
    return positions, problems


def _raise_if_any(problems: Problems) -> None:
    if problems:
        rows = len({number for number, _ in problems})
        raise InvalidInput(
            code="import_rows_invalid",
            detail=f"有 {rows} 行数据有误，未读取任何数据；请改正后重新导入",
            errors=[
                FieldProblem(field=f"第 {number} 行", message=message, code="import_row")
                for number, message in sorted(problems, key=lambda item: item[0])
            ],
        )


# --- workbooks -----------------------------------------------------------------------------------------------


def _sheet(data: bytes, title: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and non-blank data rows (with their Excel row numbers) of the sheet ``title`` (or the first)."""
    with read_workbook(data, what="事项清单") as workbook:
        if title and title in workbook.sheetnames:
            sheet = workbook[title]
        elif workbook.worksheets and not title:
            sheet = workbook.worksheets[0]
        else:
            raise InvalidInput(code="import_sheet_missing", detail=f"文件中没有工作表“{title}”")
        sheet.reset_dimensions()
        lines = sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)
        header = [cell_text(value) for value in next(lines, ())]
        return header, list(_data_rows(lines))


def _data_rows(lines: Iterable[tuple[Any, ...]]) -> Iterator[tuple[int, list[str]]]:
    for number, values in enumerate(lines, start=2):
        texts = [cell_text(value) for value in values]
        if any(texts):
            if number > MAX_ROWS + 1:
                raise InvalidInput(code="import_too_many_rows", detail=f"表格超过 {MAX_ROWS} 行数据，请分批导入")
            yield number, texts


def _cell(values: list[str], index: int) -> str:
    return values[index] if index < len(values) else ""
