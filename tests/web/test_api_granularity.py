"""Splitting, merging and lineage over HTTP: dry runs write nothing, administrators only, audited, and the
monitor's figures follow the lineage when asked."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import linear_process, publish_matter
from tests.web.conftest import Api
from xietong.catalog.models import BaseMatter, LocalMatter
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.security.models import AuditRecord

HANDLING = {"rule": "post", "unit": {"ref": "handling_unit"}, "post": "section_chief"}
MATERIALS = [{"code": "M01", "name": "身份证明", "formats": ["pdf"]},
             {"code": "M02", "name": "方案", "formats": ["pdf"]}]


def _matters(api: Api, n: int) -> list[tuple[int, int, str]]:
    """n published matters in the city (local id, base id, base code), the second handled by finance."""
    found = []
    with unit_of_work(api.app.state.engine) as session:
        for i in range(n):
            local = publish_matter(session, api.city, linear_process(("review", HANDLING)), materials=MATERIALS,
                                   handling="finance" if i == 1 else "staffing")
            base = session.get(BaseMatter, local.base_matter_id)
            assert base is not None
            found.append((local.id, base.id, base.code))
    return found


def test_split_dry_run_then_split_and_read_the_lineage(api: Api) -> None:
    [(local_id, base_id, code)] = _matters(api, 1)
    reform, clerk = api.login(api.reform), api.login("office.clerk.0")
    body = {"items": [{"name": "首次申请", "materials": ["M01"]}, {"name": "变更申请"}], "reason": "按情形细化"}
    assert clerk.post(f"/api/v1/matters/base/{base_id}/split", json=body).status_code == 403
    assert api.login(api.admin).post(f"/api/v1/matters/base/{base_id}/split", json=body).status_code == 403

    plan = reform.post(f"/api/v1/matters/base/{base_id}/split", json={**body, "dry_run": True})
    assert plan.status_code == 200, plan.text
    children = plan.json()["plan"]["children"]
    assert [c["code"] for c in children] == [f"{code}.01", f"{code}.02"]
    assert children[0]["implementations"][0]["materials"] == ["M01"]
    with unit_of_work(api.app.state.engine) as session:
        assert session.scalar(select(BaseMatter.id).where(BaseMatter.code == f"{code}.01")) is None

    bad = reform.post(f"/api/v1/matters/base/{base_id}/split",
                      json={**body, "items": [{"name": "甲", "materials": ["M09"]}, {"name": "乙"}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "unknown_material"
    assert "M09" in bad.json()["errors"][0]["message"]

    done = reform.post(f"/api/v1/matters/base/{base_id}/split", json={**body, "publish": True})
    assert done.status_code == 201, done.text
    assert reform.post(f"/api/v1/matters/base/{base_id}/split", json=body).json()["code"] == "already_split"
    first = done.json()["local_matter_ids"][0]
    assert reform.get(f"/api/v1/matters/{local_id}").json()["status"] == "retired"

    lineage = reform.get(f"/api/v1/matters/{first}/lineage")
    assert lineage.status_code == 200, lineage.text
    assert {m["id"] for m in lineage.json()["members"]} == {local_id, *done.json()["local_matter_ids"]}
    assert [e["kind"] for e in lineage.json()["edges"]] == ["split", "split"]
    assert clerk.get(f"/api/v1/matters/{first}/lineage").status_code == 403
    with unit_of_work(api.app.state.engine) as session:
        actions = session.scalars(select(AuditRecord.action).where(AuditRecord.target_id == str(base_id),
                                                                   AuditRecord.action == "catalog.matter_split"))
        assert list(actions) == ["catalog.matter_split"]


def test_merge_over_http_and_figures_follow_the_lineage(api: Api) -> None:
    (a, _, _), (b, _, _) = _matters(api, 2)
    reform = api.login(api.reform)
    applicant = api.login("office.clerk.0")
    for matter in (a, b):  # one case each before the merge
        body = {"local_matter_id": matter, "applicant_unit_id": api.city.units["office"].id,
                "form": {"title": "合并前"}}
        assert applicant.post("/api/v1/cases", json=body).status_code == 201
    code = f"YJS-{api.city.region.code}-{a}"
    body = {"local_matter_ids": [a, b], "code": code, "name": "开办联办", "reason": "一件事"}
    plan = reform.post("/api/v1/matters/merge", json={**body, "dry_run": True})
    assert plan.status_code == 200, plan.text
    assert plan.json()["plan"]["steps"] == ["m1_review", "m2_review"]
    assert plan.json()["plan"]["merged_materials"][0]["code"] == "M01"
    assert reform.post("/api/v1/matters/merge", json={**body, "local_matter_ids": [a]}).status_code == 422
    side_by_side = reform.post("/api/v1/matters/merge", json={**body, "dry_run": True, "layout": "parallel"})
    assert side_by_side.status_code == 200, side_by_side.text
    assert side_by_side.json()["plan"]["layout"] == "parallel"
    assert reform.post("/api/v1/matters/merge", json={**body, "dry_run": True, "layout": "x"}).status_code == 422

    done = reform.post("/api/v1/matters/merge", json={**body, "publish": True})
    assert done.status_code == 201, done.text
    [joint] = done.json()["local_matter_ids"]
    with unit_of_work(api.app.state.engine) as session:
        keys = set(session.scalars(select(LocalMatter.lineage_key).where(LocalMatter.id.in_([a, b, joint]))))
    assert len(keys) == 1
    case = {"local_matter_id": joint, "applicant_unit_id": api.city.units["office"].id, "form": {"title": "联办"}}
    assert applicant.post("/api/v1/cases", json=case).status_code == 201
    assert applicant.post("/api/v1/cases", json={**case, "local_matter_id": a}).status_code == 404  # retired

    year = f"{utcnow():%Y}"

    def submitted(follow: bool) -> int:
        figures = reform.get("/api/v1/monitor/figures", params={"period": year, "local_matter_id": joint,
                                                                "follow_lineage": follow})
        assert figures.status_code == 200, figures.text
        return next(c["value"] for c in figures.json()["counts"] if c["key"] == "submitted")

    assert (submitted(False), submitted(True)) == (1, 3)
    page = api.login(api.reform).get(f"/monitor/matters/{joint}", params={"period": year, "lineage": "1"})
    assert page.status_code == 200 and "按沿革" in page.text and "follow_lineage=true" in page.text
