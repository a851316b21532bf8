"""Fuzzing (issue 11 item 7): every `.xlsx` importer — units, people, working-day overrides, the matter library,
the de-duplication's raw list — answers any workbook with either an import or its own refusal (``InvalidInput``
with a Chinese detail and, for row problems, the row numbers), never with another exception; and a refused import
leaves nothing written.

The workbooks are generated: the importer's own header (sometimes shuffled, cut short, doubled or padded with
unknown titles) over rows of anything a spreadsheet cell can hold — text (Chinese, control characters, very long,
formula-like), numbers, dates, booleans, empties; plus valid workbooks with bytes flipped or cut off (a broken
zip). Derandomised with a fixed number of examples, so the suite stays fast and every run tries the same inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from io import BytesIO
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import make_city
from xietong.catalog import library_xlsx
from xietong.catalog.dedup import xlsx as dedup_xlsx
from xietong.catalog.models import LocalMatter
from xietong.directory import xlsx as directory_xlsx
from xietong.directory.models import Person, Unit
from xietong.errors import InvalidInput
from xietong.system import calendar_xlsx
from xietong.system.models import WorkdayOverride

FUZZ = settings(max_examples=40, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CHINESE = re.compile(r"[\u4e00-\u9fff]")

cell = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet="丽水莲都区县局办事项审批（）()的 -0123456789X", max_size=30),
    st.sampled_from(["=1+1", "=HYPERLINK(\"http://x\")", "@SUM(A1)", "\x00\x01", "　", "是", "否", "即办", "承诺件",
                     "330000", "330102", "91330000MA2XXXXX1X", "finance", "clerk", "2026-10-01", "10", "-1", "1e9"]),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)),
)


def _clean(value: Any) -> Any:
    """What openpyxl can store: it refuses some control characters in strings (a real spreadsheet can't hold them)."""
    if isinstance(value, str):
        return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", value)
    return value


@st.composite
def workbooks(draw: Any, titles: list[str]) -> bytes:
    header = list(titles)
    shape = draw(st.sampled_from(["as is", "shuffled", "cut", "doubled", "unknown", "empty"]))
    if shape == "shuffled":
        header = draw(st.permutations(header))
    elif shape == "cut":
        header = header[: draw(st.integers(0, len(header) - 1))]
    elif shape == "doubled":
        header = header + header[:1]
    elif shape == "unknown":
        header = header + draw(st.lists(st.text(min_size=1, max_size=8), max_size=3))
    elif shape == "empty":
        header = []
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(titles) + 2), max_size=6))
    book = Workbook()
    sheet = book.active
    if header:
        sheet.append([_clean(t) for t in header])
    for row in rows:
        sheet.append([_clean(v) for v in row])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


@st.composite
def broken(draw: Any, titles: list[str]) -> bytes:
    data = bytearray(draw(workbooks(titles)))
    # Positions are drawn as fractions of the length: a saved workbook's length varies with its timestamp, and
    # a draw that depended on it would make hypothesis's replay differ from the run (FlakyStrategyDefinition).
    fraction = st.floats(min_value=0, max_value=1, allow_nan=False, exclude_max=True)

    def position() -> int:
        return int(draw(fraction) * len(data))

    if draw(st.booleans()):
        return bytes(data[: position()])
    for _ in range(draw(st.integers(1, 8))):
        data[position()] ^= draw(st.integers(1, 255))
    return bytes(data)


def anything(columns: Mapping[str, str]) -> st.SearchStrategy[bytes]:
    titles = list(columns.values())
    return workbooks(titles) | broken(titles) | st.binary(max_size=300)


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model)) or 0
                 for model in (Unit, Person, WorkdayOverride, LocalMatter))


def _imports_or_refuses(session: Session, run: Callable[[], Any]) -> None:
    before = _counts(session)
    savepoint = session.begin_nested()
    try:
        run()
        session.flush()
    except InvalidInput as refusal:
        assert CHINESE.search(refusal.detail), refusal.detail
        for problem in refusal.errors:
            assert CHINESE.search(problem.message), problem.message
        savepoint.rollback()
        assert _counts(session) == before  # nothing half-written
        return
    savepoint.rollback()


@FUZZ
@given(data=anything(directory_xlsx.UNIT_COLUMNS))
def test_the_unit_import_imports_or_refuses_in_chinese(session: Session, data: bytes) -> None:
    _imports_or_refuses(session, lambda: directory_xlsx.import_units(session, data=data))


@FUZZ
@given(data=anything(directory_xlsx.PEOPLE_COLUMNS))
def test_the_people_import_imports_or_refuses_in_chinese(session: Session, data: bytes) -> None:
    make_city(session, holders=1)
    _imports_or_refuses(session, lambda: directory_xlsx.import_people(session, data=data))


@FUZZ
@given(data=anything(calendar_xlsx.COLUMNS))
def test_the_calendar_import_imports_or_refuses_in_chinese(session: Session, data: bytes) -> None:
    _imports_or_refuses(session, lambda: calendar_xlsx.import_overrides(session, data=data))


@FUZZ
@given(data=anything(library_xlsx.COLUMNS))
def test_the_matter_library_import_imports_or_refuses_in_chinese(session: Session, data: bytes) -> None:
    _imports_or_refuses(session, lambda: library_xlsx.import_matters(session, data=data))


@FUZZ
@given(data=anything(dedup_xlsx.COLUMNS))
def test_the_dedup_reader_reads_or_refuses_in_chinese(session: Session, data: bytes) -> None:
    _imports_or_refuses(session, lambda: dedup_xlsx.read_rows(data))
