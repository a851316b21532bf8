"""The designer's materials table takes a material's 共享类型 (``shared_kind``), and 五减 counts it as reduced."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.factories import joint_approval_process, publish_matter
from tests.web.conftest import Api
from tests.web.test_pages_designer import _admin, _draft
from xietong.catalog.models import MatterVersion
from xietong.db.session import unit_of_work

MATERIALS = [{"code": "M01", "name": "申请函", "required": True, "formats": ["pdf"]},
             {"code": "M02", "name": "营业执照", "required": True, "formats": ["pdf"]}]


def test_a_material_gets_a_shared_kind_and_the_reduction_shows_it(api: Api, db_engine: Engine) -> None:
    with unit_of_work(db_engine) as session:
        matter_id = publish_matter(session, api.city, joint_approval_process(), materials=MATERIALS).id
    client = _admin(api)
    version_id = _draft(api, client, matter_id)
    page = client.get(f"/admin/matters/{matter_id}", headers={"HX-Request": ""})
    assert "共享类型" in page.text and '<option value="统一社会信用代码证">' in page.text
    saved = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/materials",
                        data={"mat.code": ["M01", "M02"], "mat.name": ["申请函", "营业执照"],
                              "mat.required": ["yes", "yes"], "mat.formats": ["pdf", "pdf,png"],
                              "mat.max_size_mb": ["5", "5"], "mat.note": ["", ""],
                              "mat.shared_kind": ["", "统一社会信用代码证"]}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with unit_of_work(db_engine) as session:
        version = session.get(MatterVersion, version_id)
        assert version is not None
        assert [m.get("shared_kind") for m in version.materials] == [None, "统一社会信用代码证"]
    page = client.get(f"/admin/matters/{matter_id}", headers={"HX-Request": ""})
    assert 'value="统一社会信用代码证"' in page.text  # shown again in the table
    published = client.post(f"/admin/matters/{matter_id}/versions/{version_id}/publish", follow_redirects=False)
    assert published.status_code == 303
    page = client.get(f"/admin/matters/{matter_id}", headers={"HX-Request": ""})
    # two materials before, both uploaded; after, one of them comes from the catalogue: 减材料 2 → 1, reduced 1
    assert '<th scope="row">减材料</th><td>2</td><td>1</td><td>1</td>' in page.text
