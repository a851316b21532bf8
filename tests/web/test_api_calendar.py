"""/api/v1/calendar over real HTTP: everyone reads, only an all-scope system administrator writes, audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, select

from tests.clock.test_calendar import first_uncovered_year
from tests.web.conftest import Api
from xietong.db.session import unit_of_work
from xietong.security.models import AuditRecord
from xietong.system.calendar import forget_calendars
from xietong.system.models import WorkdayOverride

FAR = 2098  # committed rows are shared by the worker's other tests: keep them far from any due time
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def no_far_overrides(api: Api) -> Iterator[None]:
    yield
    with unit_of_work(api.app.state.engine) as session:
        session.execute(delete(WorkdayOverride).where(WorkdayOverride.day.between(date(FAR, 1, 1), date(FAR, 12, 31))))
    forget_calendars()


def _book(*rows: list[object]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["日期", "是否工作日", "说明"])
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_everyone_reads_a_year_and_is_told_when_holidays_are_missing(api: Api) -> None:
    client = api.login("finance.clerk.0")
    known = client.get("/api/v1/calendar/years/2026").json()
    assert known["holidays_known"] is True and known["warning"] == ""
    assert {d["day"]: d["is_working"] for d in known["days"]}["2026-10-10"] is True
    missing = first_uncovered_year()
    response = client.get(f"/api/v1/calendar/years/{missing}")
    assert response.status_code == 200
    assert response.json()["holidays_known"] is False
    assert "法定节假日" in response.json()["warning"]
    bad = client.get("/api/v1/calendar/years/1800")
    assert bad.status_code in (400, 422)
    assert bad.json()["code"] == "calendar_year_out_of_range"


def test_only_an_all_scope_system_admin_sets_and_clears_a_day_and_both_are_audited(api: Api) -> None:
    body = {"day": f"{FAR}-01-04", "is_working": True, "note": "调休上班"}
    for who in ("finance.clerk.0", api.admin):  # the region's administrator does not own the city's calendar
        refused = api.login(who).put(f"/api/v1/calendar/days/{FAR}-01-04", json=body)
        assert refused.status_code == 403 and refused.json()["code"] == "not_calendar_admin"
    root = api.login(api.root)
    response = root.put(f"/api/v1/calendar/days/{FAR}-01-04", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "day": f"{FAR}-01-04", "weekday": "六", "is_working": True, "source": "override", "holiday": "",
        "note": "调休上班",
    }
    assert api.login("finance.clerk.0").get(f"/api/v1/calendar/days/{FAR}-01-04").json()["is_working"] is True
    mismatch = root.put(f"/api/v1/calendar/days/{FAR}-01-05", json=body)
    assert mismatch.status_code in (400, 422) and mismatch.json()["code"] == "day_mismatch"

    cleared = root.delete(f"/api/v1/calendar/days/{FAR}-01-04")
    assert cleared.status_code == 200 and cleared.json()["source"] == "fallback"
    again = root.delete(f"/api/v1/calendar/days/{FAR}-01-04")
    assert again.status_code == 404 and again.json()["code"] == "override_not_found"
    with unit_of_work(api.app.state.engine) as session:
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.actor_id == api.root.id,
                                             AuditRecord.target_id == f"{FAR}-01-04").order_by(AuditRecord.id)
        ).all()
    assert actions == ["calendar.override_set", "calendar.override_cleared"]


def test_import_is_all_or_nothing_and_export_round_trips(api: Api) -> None:
    root = api.login(api.root)
    bad = _book([f"{FAR}-03-02", "是", ""], [f"{FAR}-13-01", "否", ""])
    refused = root.post("/api/v1/calendar/import", files={"file": ("bad.xlsx", bad, XLSX)})
    assert refused.status_code in (400, 422)
    assert refused.json()["code"] == "import_rows_invalid"
    assert [e["field"] for e in refused.json()["errors"]] == ["第 3 行"]
    assert root.get(f"/api/v1/calendar/years/{FAR}").json()["overrides"] == 0

    good = _book([f"{FAR}-03-02", "否", "地方假日"], [f"{FAR}-03-07", "是", "调休"])
    assert api.login(api.admin).post("/api/v1/calendar/import", files={"file": ("g.xlsx", good, XLSX)}
                                     ).status_code == 403
    response = root.post("/api/v1/calendar/import", files={"file": ("good.xlsx", good, XLSX)})
    assert response.status_code == 200 and response.json() == {"created": 2, "updated": 0}
    exported = api.login("finance.clerk.0").get(f"/api/v1/calendar/export?year={FAR}")
    assert exported.status_code == 200 and exported.headers["content-type"] == XLSX
    rows = list(load_workbook(BytesIO(exported.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[1:] == [(f"{FAR}-03-02", "否", "地方假日"), (f"{FAR}-03-07", "是", "调休")]
    not_xlsx = root.post("/api/v1/calendar/import", files={"file": ("a.csv", b"a,b", "text/csv")})
    assert not_xlsx.status_code in (400, 422) and not_xlsx.json()["code"] == "not_xlsx"
