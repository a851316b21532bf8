"""共享材料库: versions and validity of standing documents, linking them (and earlier results) at submission, the
exact version a case keeps, who may read and link what."""

from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import City, joint_approval_process, make_city, publish_matter
from tests.integrations.cases import concluded_case
from xietong.cases import attachments, service
from xietong.cases.models import Attachment, Event
from xietong.config import Settings
from xietong.demo.samples import pdf_bytes, png_bytes
from xietong.errors import Forbidden, InvalidInput, NotFound
from xietong.materials import queries
from xietong.materials import service as shared
from xietong.materials.models import SharedMaterial, SharedMaterialVersion

USCC = "统一社会信用代码证"
TODAY = shared.today("Asia/Shanghai")
MATERIALS = [
    {"code": "M1", "name": "申请书", "required": True, "formats": ["pdf"]},
    {"code": "M2", "name": "营业执照", "required": True, "formats": ["pdf", "png"], "shared_kind": USCC},
    {"code": "M3", "name": "前置批复", "required": False, "formats": ["pdf"], "shared_kind": "result"},
]


def _keep(session: Session, city: City, settings: Settings, content: bytes = b"", *, unit: str = "office",
          kind: str = USCC, **dates: object) -> SharedMaterialVersion:
    return shared.add_version(
        session, principal=city.principal(session, unit), unit_id=city.units[unit].id, kind=kind,
        filename="执照.pdf", stream=io.BytesIO(content or pdf_bytes("执照")), declared_type="application/pdf",
        settings=settings, **dates,  # type: ignore[arg-type]
    )


def _upload(session: Session, city: City, settings: Settings, code: str = "M1") -> int:
    return attachments.store_upload(
        session, principal=city.principal(session, "office"), filename="申请书.pdf",
        stream=io.BytesIO(pdf_bytes(f"申请书{code}")), declared_type=None, material_code=code, settings=settings,
    ).id


def _submit(session: Session, city: City, matter_id: int, settings: Settings, **links: object) -> int:
    case_id, _ = service.submit_case(
        session, principal=city.principal(session, "office"), local_matter_id=matter_id,
        applicant_unit_id=city.units["office"].id, form={"title": "申请"},
        materials={"M1": [_upload(session, city, settings)]}, settings=settings, **links,  # type: ignore[arg-type]
    )
    return case_id


@pytest.fixture
def city(session: Session) -> City:
    return make_city(session)


@pytest.fixture
def matter_id(session: Session, city: City) -> int:
    return publish_matter(session, city, joint_approval_process(), materials=MATERIALS).id


def test_a_new_upload_of_a_kind_supersedes_and_the_old_version_stays(session: Session, city: City,
                                                                      settings: Settings) -> None:
    first = _keep(session, city, settings, pdf_bytes("v1"), valid_until=TODAY + timedelta(days=30))
    second = _keep(session, city, settings, pdf_bytes("v2"))
    assert (first.number, second.number) == (1, 2) and first.shared_material_id == second.shared_material_id
    material = session.get(SharedMaterial, first.shared_material_id)
    assert material is not None and material.current_number == 2
    principal = city.principal(session, "office")
    detail = queries.material_detail(session, principal=principal, material_id=material.id, today=TODAY)
    assert [(v.number, v.current) for v in detail.versions] == [(2, True), (1, False)]
    meta, _content = shared.open_version(session, principal=principal, material_id=material.id, number=1,
                                         settings=settings)
    assert meta.sha256 == first.blob_sha256 != second.blob_sha256


def test_uploads_are_checked_like_attachments_and_expired_ones_refused(session: Session, city: City,
                                                                         settings: Settings) -> None:
    with pytest.raises(InvalidInput) as expired:
        _keep(session, city, settings, valid_until=TODAY - timedelta(days=1))
    assert "过期" in expired.value.detail
    with pytest.raises(InvalidInput) as backwards:
        _keep(session, city, settings, valid_from=TODAY, valid_until=TODAY - timedelta(days=3))
    assert backwards.value.detail == "有效期截止日不能早于起始日"
    with pytest.raises(InvalidInput):
        _keep(session, city, settings, kind="result:X")  # reserved for results
    with pytest.raises(InvalidInput) as disguised:
        _keep(session, city, settings, b"<html><script>alert(1)</script></html>")
    assert disguised.value.code.startswith("file_")


def test_another_unit_neither_keeps_nor_reads_a_units_documents(session: Session, city: City,
                                                                settings: Settings) -> None:
    version = _keep(session, city, settings)
    outsider = city.principal(session, "finance")
    with pytest.raises(NotFound):
        queries.material_detail(session, principal=outsider, material_id=version.shared_material_id, today=TODAY)
    with pytest.raises(NotFound):
        shared.open_version(session, principal=outsider, material_id=version.shared_material_id, number=1,
                            settings=settings)
    with pytest.raises(Forbidden):
        queries.unit_catalogue(session, principal=outsider, unit_id=city.units["office"].id, today=TODAY)
    assert _keep(session, city, settings, unit="finance").number == 1  # its own unit's: allowed
    with pytest.raises(Forbidden):
        shared.add_version(session, principal=outsider, unit_id=city.units["office"].id, kind=USCC,
                           filename="x.pdf", stream=io.BytesIO(pdf_bytes("x")), declared_type=None, settings=settings)


def test_a_linked_version_is_the_cases_for_good(session: Session, city: City, matter_id: int,
                                                settings: Settings) -> None:
    version = _keep(session, city, settings, pdf_bytes("第一版"), valid_until=TODAY + timedelta(days=365))
    case_id = _submit(session, city, matter_id, settings, shared_materials={"M2": version.id})
    linked = session.scalars(select(Attachment).where(Attachment.case_id == case_id,
                                                      Attachment.material_code == "M2")).one()
    assert linked.shared_version_id == version.id and linked.blob_sha256 == version.blob_sha256
    _keep(session, city, settings, pdf_bytes("第二版"))  # a later version changes nothing the case was filed with
    session.refresh(linked)
    assert linked.blob_sha256 == version.blob_sha256
    handler = city.principal(session, "staffing")
    meta, _ = attachments.open_attachment(session, principal=handler, attachment_id=linked.id, settings=settings)
    assert meta.sha256 == version.blob_sha256  # the case's reader reads the linked file through the case
    with pytest.raises(NotFound):  # …and nobody else
        attachments.open_attachment(session, principal=make_city(session).principal(session, "office"),
                                    attachment_id=linked.id, settings=settings)
    files = {f.material_code: f for f in service_files(session, city, case_id)}
    day = version.uploaded_at.astimezone(ZoneInfo("Asia/Shanghai"))
    clerk = city.person("office", "clerk").name
    assert files["M2"].source == f"共享材料库 · {USCC} · 版本 1 · 上传于 {day:%Y-%m-%d} 由 {clerk}"
    assert files["M1"].source is None
    submitted = session.scalars(select(Event).where(Event.case_id == case_id, Event.seq == 1)).one()
    assert submitted.delta["shared_materials"]["M2"]["shared_version_id"] == version.id
    detail = queries.material_detail(session, principal=city.principal(session, "office"),
                                     material_id=version.shared_material_id, today=TODAY)
    assert [(u.case_id, u.version_number) for u in detail.uses] == [(case_id, 1)]


def service_files(session: Session, city: City, case_id: int):  # type: ignore[no-untyped-def]
    from xietong.cases.queries import case_attachments

    return case_attachments(session, principal=city.principal(session, "staffing"), case_id=case_id)


def test_expired_superseded_foreign_and_wrong_kind_links_are_refused(session: Session, city: City, matter_id: int,
                                                                      settings: Settings) -> None:
    old = _keep(session, city, settings, pdf_bytes("旧"))
    current = _keep(session, city, settings, pdf_bytes("新"), valid_from=TODAY + timedelta(days=2))
    other_kind = _keep(session, city, settings, kind="授权委托书")
    foreign = _keep(session, city, settings, unit="finance")
    cases = [({"M2": old.id}, "shared_superseded", "已被版本 2 取代"),
             ({"M2": current.id}, "shared_not_yet_valid", "起才有效"),
             ({"M2": other_kind.id}, "shared_kind_mismatch", "所选的是“授权委托书”"),
             ({"M2": foreign.id}, "shared_not_found", "不属于申请单位"),
             ({"M1": current.id}, "shared_not_allowed", "不能使用共享材料")]
    for links, code, words in cases:
        with pytest.raises(InvalidInput) as refused:
            _submit(session, city, matter_id, settings, shared_materials=links)
        found = [e for e in refused.value.errors if e.code == code]
        assert found and words in found[0].message, (links, refused.value.errors)


def test_an_expired_document_cannot_be_linked(session: Session, city: City, matter_id: int,
                                              settings: Settings) -> None:
    version = _keep(session, city, settings, valid_until=TODAY + timedelta(days=1))
    version.valid_until = TODAY - timedelta(days=1)  # a day later, as far as the check is concerned
    session.flush()
    with pytest.raises(InvalidInput) as refused:
        _submit(session, city, matter_id, settings, shared_materials={"M2": version.id})
    (problem,) = [e for e in refused.value.errors if e.field == "materials.M2"]
    assert problem.code == "shared_expired"
    assert problem.message == (f"{USCC}（版本 1）已于 {version.valid_until.isoformat()} 过期，不能使用；"
                               "请先在共享材料库上传新版本，或直接上传文件")
    offer = queries.offers(session, unit_id=city.units["office"].id,
                           materials=_parsed(), today=TODAY)["M2"]
    assert not offer.usable and "过期" in (offer.problem or "")


def _parsed():  # type: ignore[no-untyped-def]
    from xietong.catalog.forms import parse_materials

    return parse_materials(MATERIALS)


def test_a_required_material_is_satisfied_by_the_link_alone(session: Session, city: City, matter_id: int,
                                                           settings: Settings) -> None:
    with pytest.raises(InvalidInput) as missing:
        _submit(session, city, matter_id, settings)
    assert [e.field for e in missing.value.errors] == ["materials.M2"]
    version = _keep(session, city, settings)
    assert _submit(session, city, matter_id, settings, shared_materials={"M2": version.id}) > 0


def test_a_concluded_cases_result_is_reused(session: Session, settings: Settings) -> None:
    city, earlier = concluded_case(session)
    (result,) = queries.reusable_results(session, unit_id=city.units["office"].id)
    assert result.case_id == earlier and result.title == "办结通知书"
    matter = publish_matter(session, city, joint_approval_process(), materials=MATERIALS)
    version = _keep(session, city, settings)
    case_id = _submit(session, city, matter.id, settings, shared_materials={"M2": version.id},
                      reused_results={"M3": result.document_id})
    files = {f.material_code: f for f in service_files(session, city, case_id)}
    assert files["M3"].source == f"结果复用 · 案件 {result.case_number} 的办结通知书"
    assert files["M3"].content_type == "application/pdf" and files["M3"].source_document_id == result.document_id
    stranger = make_city(session)  # another unit cannot link this unit's result
    other = publish_matter(session, stranger, joint_approval_process(), materials=MATERIALS)
    with pytest.raises(InvalidInput) as refused:
        service.submit_case(session, principal=stranger.principal(session, "office"), local_matter_id=other.id,
                            applicant_unit_id=stranger.units["office"].id, form={"title": "冒用"},
                            reused_results={"M3": result.document_id}, settings=settings)
    assert "result_not_found" in {e.code for e in refused.value.errors}


def test_a_result_of_another_matter_is_refused_where_the_material_names_one(session: Session,
                                                                           settings: Settings) -> None:
    city, _earlier = concluded_case(session)
    (result,) = queries.reusable_results(session, unit_id=city.units["office"].id)
    narrow = [{"code": "M1", "name": "前置批复", "formats": ["pdf"], "shared_kind": "result:NO-SUCH"}]
    matter = publish_matter(session, city, joint_approval_process(), materials=narrow)
    with pytest.raises(InvalidInput) as refused:
        service.submit_case(session, principal=city.principal(session, "office"), local_matter_id=matter.id,
                            applicant_unit_id=city.units["office"].id, form={"title": "申请批复"},
                            reused_results={"M1": result.document_id}, settings=settings)
    assert refused.value.errors[0].code == "shared_kind_mismatch"


def test_an_image_version_is_refused_where_only_pdf_is_accepted(session: Session, city: City,
                                                                 settings: Settings) -> None:
    strict = [{"code": "M1", "name": "营业执照", "formats": ["pdf"], "shared_kind": USCC}]
    matter = publish_matter(session, city, joint_approval_process(), materials=strict)
    version = shared.add_version(
        session, principal=city.principal(session, "office"), unit_id=city.units["office"].id, kind=USCC,
        filename="执照.png", stream=io.BytesIO(png_bytes()), declared_type=None, settings=settings)
    with pytest.raises(InvalidInput) as refused:
        service.submit_case(session, principal=city.principal(session, "office"), local_matter_id=matter.id,
                            applicant_unit_id=city.units["office"].id, form={"title": "申请批复"},
                            shared_materials={"M1": version.id}, settings=settings)
    assert refused.value.errors[0].code == "bad_format"
