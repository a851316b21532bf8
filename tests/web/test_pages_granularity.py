"""The granularity page of the matter editor: lineage, a split and a merge each previewed before they are
written, problems listed with nothing saved, administrators only."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from tests.factories import linear_process, publish_matter
from tests.web.conftest import Api
from tests.web.page_client import page_login
from xietong.catalog.models import LocalMatter, MatterLineage
from xietong.db.session import unit_of_work

HANDLING = {"rule": "post", "unit": {"ref": "handling_unit"}, "post": "section_chief"}
MATERIALS = [{"code": "M01", "name": "申请函", "formats": ["pdf"]},
             {"code": "M02", "name": "方案", "formats": ["pdf"]}]


def _matter(api: Api, db_engine: Engine, handling: str = "staffing") -> LocalMatter:
    with unit_of_work(db_engine) as session:
        return publish_matter(session, api.city, linear_process(("review", HANDLING)), materials=MATERIALS,
                              handling=handling)


def _edges(db_engine: Engine, local_id: int) -> int:
    with unit_of_work(db_engine) as session:
        return session.scalar(select(func.count()).select_from(MatterLineage).where(
            (MatterLineage.predecessor_id == local_id) | (MatterLineage.successor_id == local_id))) or 0


def test_split_is_previewed_then_written(api: Api, db_engine: Engine) -> None:
    local = _matter(api, db_engine)
    clerk = page_login(api, "finance.clerk.0")
    assert clerk.get(f"/admin/matters/{local.id}/granularity", headers={"HX-Request": ""}).status_code == 403
    reform = page_login(api, api.reform)
    page = reform.get(f"/admin/matters/{local.id}/granularity")
    assert page.status_code == 200 and "拆分为子项" in page.text and "没有拆分或合并记录" in page.text
    form = {"items": "首次申请|M01\n变更申请", "reason": "细化"}
    bad = reform.post(f"/admin/matters/{local.id}/granularity/split", data={**form, "items": "甲|M09\n乙"})
    assert bad.status_code == 422 and "没有材料 M09" in bad.text
    preview = reform.post(f"/admin/matters/{local.id}/granularity/split", data=form)
    assert preview.status_code == 200 and 'id="split-plan"' in preview.text and "确认拆分" in preview.text
    assert _edges(db_engine, local.id) == 0  # a preview writes nothing
    done = reform.post(f"/admin/matters/{local.id}/granularity/split", data={**form, "confirm": "1", "publish": "1"},
                       follow_redirects=False)
    assert done.status_code == 303, done.text
    assert _edges(db_engine, local.id) == 2
    after = reform.get(done.headers["location"])
    assert "已拆分" in after.text and "拆分：" in after.text


def test_merge_is_previewed_then_written(api: Api, db_engine: Engine) -> None:
    a, b = _matter(api, db_engine), _matter(api, db_engine, "finance")
    admin = page_login(api, api.admin)  # the region's administrator may merge its matters, not split base matters
    page = admin.get(f"/admin/matters/{a.id}/granularity")
    assert "拆分为子项" not in page.text and "合并为一件事" in page.text
    form = {"codes": b.code, "code": f"YJS-P{a.id}", "name": "联办", "reason": "一件事"}
    preview = admin.post(f"/admin/matters/{a.id}/granularity/merge", data=form)
    assert preview.status_code == 200, preview.text
    assert "m1_review → m2_review" in preview.text and "M01 申请函 合并自" in preview.text
    missing = admin.post(f"/admin/matters/{a.id}/granularity/merge", data={**form, "codes": "NO-SUCH"})
    assert missing.status_code == 422 and "NO-SUCH" in missing.text
    done = admin.post(f"/admin/matters/{a.id}/granularity/merge", data={**form, "confirm": "1"},
                      follow_redirects=False)
    assert done.status_code == 303, done.text
    assert _edges(db_engine, a.id) == 1 and _edges(db_engine, b.id) == 1
    joint = admin.get(done.headers["location"])
    assert "已合并为一件事" in joint.text and f"{a.code} → " in joint.text
