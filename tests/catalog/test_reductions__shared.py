"""减材料 with shared materials: an entry satisfied from the applicant unit's catalogue is not submitted again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tests.catalog.test_reductions import (
    FORM_BEFORE,
    MATERIALS_BEFORE,
    PROCESS_BEFORE,
    at,
    dated,
    fig,
    material,
    new_version,
    view,
)
from tests.factories import make_city, publish_matter
from xietong.catalog.reductions import diff_versions, reductions, rollup


def shared(item: dict[str, Any], kind: str) -> dict[str, Any]:
    return {**item, "shared_kind": kind}


# Before: 申请表, 营业执照, 身份证明, 无犯罪证明 — all four uploaded. After: 营业执照 from the catalogue
# (统一社会信用代码证), 身份证明 from the catalogue (法定代表人身份证明), 无犯罪证明 dropped, and a new
# 前置批复 reused from an earlier case's result. Hand count: entries 4 → 4; submitted 4 → 1 (only 申请表);
# required entries 3 → 4 (前置批复 is required); 减材料 = 4 − 1 = 3.
MATERIALS_AFTER = [
    MATERIALS_BEFORE[0],
    shared(MATERIALS_BEFORE[1], "统一社会信用代码证"),
    shared(MATERIALS_BEFORE[2], "法定代表人身份证明"),
    shared(material("APPROVAL", "前置批复"), "result"),
]
BEFORE = view(1, FORM_BEFORE, MATERIALS_BEFORE, PROCESS_BEFORE, 10)
AFTER = view(2, FORM_BEFORE, MATERIALS_AFTER, PROCESS_BEFORE, 10)


def test_materials_satisfied_from_the_catalogue_count_as_reduced() -> None:
    diff = diff_versions(BEFORE, AFTER)
    assert diff.figures["materials"] == fig(4, 4)
    assert diff.figures["submitted_materials"] == fig(4, 1)
    assert diff.figures["required_materials"] == fig(3, 4)
    figures = reductions(diff)
    assert figures["减材料"] == fig(4, 1) and figures["减材料"].reduced == 3
    assert {f: figures[f].reduced for f in ("减环节", "减时限", "减费用", "减跑动")} == dict.fromkeys(
        ("减环节", "减时限", "减费用", "减跑动"), Decimal(0))
    # the diff names the entries whose shared kind changed
    assert {(c.code, c.change) for c in diff.materials} == {
        ("LICENCE", "changed"), ("ID_CARD", "changed"), ("PROOF", "removed"), ("APPROVAL", "added")}


def test_without_shared_kinds_the_figure_is_the_entry_count() -> None:
    plain = view(3, FORM_BEFORE, MATERIALS_BEFORE[:2], PROCESS_BEFORE, 10)
    figures = reductions(diff_versions(BEFORE, plain))
    assert figures["减材料"] == fig(4, 2)


def test_the_rollup_reports_the_shared_reduction(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, PROCESS_BEFORE, form=FORM_BEFORE, materials=MATERIALS_BEFORE, limit=10)
    new_version(session, local, MATERIALS_AFTER, PROCESS_BEFORE, 10)
    dated(session, local, (at(1), at(3)), (at(3), None))
    session.flush()
    report = rollup(session, period_from=at(2), period_to=at(6), region_id=city.region.id)
    (row,) = report.matters
    assert row.figures["减材料"] == fig(4, 1)
    (unit,) = report.units
    assert unit.figures["减材料"].reduced == 3
