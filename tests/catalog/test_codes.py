"""The matter code scheme: format, the no-USCC fallback, parsing, stability and uniqueness."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.factories import make_city
from xietong.catalog import service as catalog
from xietong.catalog.codes import (
    MatterCode,
    is_local_matter_code,
    local_matter_code,
    parse_local_matter_code,
)
from xietong.directory.schemas import uscc_check_char
from xietong.errors import InvalidInput


def uscc(body: str) -> str:
    """A valid 统一社会信用代码 from its first 17 characters."""
    return body + uscc_check_char(body)


USCC_A = uscc("11331100MB1234567")
USCC_B = uscc("11331100MB7654321")


def test_the_code_is_base_region_uscc_and_two_digit_item() -> None:
    code = local_matter_code("JG-CZ-0001", "331102", USCC_A, 3)
    assert code == f"JG-CZ-0001-331102-{USCC_A}-03"
    assert parse_local_matter_code(code) == MatterCode("JG-CZ-0001", "331102", USCC_A, None, 3)
    assert local_matter_code("JG-CZ-0001", "331102", USCC_A) == f"JG-CZ-0001-331102-{USCC_A}-00"


def test_a_unit_without_uscc_falls_back_to_z_and_its_id() -> None:
    code = local_matter_code("M01", "331121", None, unit_id=42)
    assert code == "M01-331121-Z42-00"
    parsed = parse_local_matter_code(code)
    assert (parsed.uscc, parsed.unit_id, parsed.item, str(parsed)) == (None, 42, 0, code)
    with pytest.raises(InvalidInput) as caught:
        local_matter_code("M01", "331121", None)
    assert caught.value.code == "bad_matter_code" and caught.value.errors[0].code == "unit_id_required"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("M 01", "331121", USCC_A, 0), "bad_base_code"),
        (("M01", "33-11", USCC_A, 0), "bad_region_code"),
        (("M01", "331121", "91330000ZZZZZZZZZZ", 0), "bad_uscc"),
        (("M01", "331121", USCC_A, 100), "bad_item"),
    ],
)
def test_parts_outside_the_scheme_are_refused_in_chinese(args: tuple[str, str, str, int], problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        local_matter_code(*args)
    assert [p.code for p in caught.value.errors] == [problem]
    assert caught.value.detail == "无法生成事项编码"


def test_a_code_longer_than_the_column_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        local_matter_code("B" * 40, "331121", USCC_A)
    assert caught.value.code == "matter_code_too_long"


@pytest.mark.parametrize("code", ["JG-CZ-5003-331121", "M01-331121-Z42-1", "M01-331121-Z0-00", "M01-331121-X-00", ""])
def test_codes_outside_the_scheme_do_not_parse(code: str) -> None:
    assert not is_local_matter_code(code)
    with pytest.raises(InvalidInput):
        parse_local_matter_code(code)


def test_create_local_matter_uses_the_scheme_with_the_region_code_and_the_units_uscc(session: Session) -> None:
    city = make_city(session)
    staffing, finance = city.units["staffing"], city.units["finance"]
    staffing.uscc = USCC_A
    session.flush()
    base = catalog.create_base_matter(session, code="JG-BB-0001", name="编制核定", kind="promised", legal_limit_days=10)
    with_uscc = catalog.create_local_matter(session, base=base, region_id=city.region.id, handling_unit_id=staffing.id)
    without = catalog.create_local_matter(session, base=base, region_id=city.region.id, handling_unit_id=finance.id)
    assert with_uscc.code == f"JG-BB-0001-{city.region.code}-{USCC_A}-00" == with_uscc.lineage_key
    assert without.code == f"JG-BB-0001-{city.region.code}-Z{finance.id}-00"
    given = catalog.create_local_matter(
        session, base=base, region_id=city.region.id, handling_unit_id=city.units["office"].id, code="LEGACY-1"
    )
    assert given.code == "LEGACY-1"


def test_codes_are_stable_and_a_reused_uscc_takes_the_next_item(session: Session) -> None:
    city = make_city(session)
    staffing, finance = city.units["staffing"], city.units["finance"]
    staffing.uscc = USCC_A
    session.flush()
    base = catalog.create_base_matter(session, code="JG-BB-0002", name="编制核定", kind="promised", legal_limit_days=10)
    first = catalog.create_local_matter(session, base=base, region_id=city.region.id, handling_unit_id=staffing.id)
    staffing.name, staffing.uscc = "改名后的编办", USCC_B  # reorganised: renamed and re-registered
    session.flush()
    finance.uscc = USCC_A  # the old USCC now belongs to another unit
    session.flush()
    second = catalog.create_local_matter(session, base=base, region_id=city.region.id, handling_unit_id=finance.id)
    session.refresh(first)
    assert first.code == f"JG-BB-0002-{city.region.code}-{USCC_A}-00"
    assert second.code == f"JG-BB-0002-{city.region.code}-{USCC_A}-01"


def test_uniqueness_is_the_databases(session: Session) -> None:
    city = make_city(session)
    base = catalog.create_base_matter(session, code="JG-BB-0003", name="编制核定", kind="promised", legal_limit_days=10)
    first = catalog.create_local_matter(
        session, base=base, region_id=city.region.id, handling_unit_id=city.units["staffing"].id
    )
    with pytest.raises(IntegrityError), session.begin_nested():
        catalog.create_local_matter(
            session, base=base, region_id=city.region.id, handling_unit_id=city.units["finance"].id, code=first.code
        )
