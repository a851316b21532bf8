"""OA 来文 and 对接状态 pages: a clerk reads a document, starts a case of a chosen matter from it with its
attachment as a material, or declines it; a system administrator sees the integrations' health and works dead
messages; nobody else reaches either."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import delete, select

from tests.factories import joint_approval_process, publish_matter
from tests.web.conftest import Api
from tests.web.page_client import csrf_headers, page_login
from xietong.cases.models import Attachment, Case
from xietong.catalog.models import LocalMatter
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.demo.samples import pdf_bytes
from xietong.integrations.models import OutboundMessage
from xietong.integrations.oa.models import OaDocument
from xietong.integrations.oa.service import receive_document

MATERIALS = [{"code": "M1", "name": "请示文件", "required": True, "formats": ["pdf"]}]


def _document(api: Api, oa_doc_id: str) -> tuple[int, int]:
    engine = api.app.state.engine
    with unit_of_work(engine) as session:
        matter = publish_matter(session, api.city, joint_approval_process(), materials=MATERIALS)
        document, _ = receive_document(session, {
            "oa_doc_id": oa_doc_id, "doc_number": "丽编〔2026〕3号", "title": "关于调整内设机构的请示",
            "sender": "市政府办公室", "unit": api.city.units["office"].code, "body": "请审批。",
            "attachments": [{"filename": "请示.pdf", "content": base64.b64encode(pdf_bytes("请示")).decode()}],
        }, settings=api.app.state.settings, now=utcnow())
        return document.id, matter.id


def test_a_clerk_starts_a_case_from_an_oa_document(api: Api) -> None:
    document_id, matter_id = _document(api, "OA-PAGE-1")
    client = page_login(api, "office.clerk.0", htmx=False)
    inbox = client.get("/oa")
    assert inbox.status_code == 200 and "关于调整内设机构的请示" in inbox.text
    with unit_of_work(api.app.state.engine) as session:
        name = session.scalar(select(LocalMatter.name).where(LocalMatter.id == matter_id))
    page = client.get(f"/oa/{document_id}", params={"keyword": name})
    assert "丽编〔2026〕3号" in page.text and f"/oa/{document_id}/start?matter={matter_id}" in page.text
    form = client.get(f"/oa/{document_id}/start", params={"matter": matter_id})
    assert form.status_code == 200 and 'name="a.0"' in form.text and "请示文件（必交）" in form.text
    token = csrf_headers(client)["x-csrf-token"]

    missing = client.post(f"/oa/{document_id}/start?matter={matter_id}",
                          data={"csrf_token": token, "f.title": "关于调整内设机构的请示", "a.0": ""})
    assert missing.status_code == 422 and "请示文件" in missing.text  # the required material is missing
    started = client.post(f"/oa/{document_id}/start?matter={matter_id}", follow_redirects=False,
                          data={"csrf_token": token, "f.title": "关于调整内设机构的请示", "a.0": "M1"})
    assert started.status_code == 303 and started.headers["location"].startswith("/cases/")
    case_id = int(started.headers["location"].split("/")[2].split("?")[0])
    with unit_of_work(api.app.state.engine) as session:
        assert session.get(Case, case_id).channel == "oa"  # type: ignore[union-attr]
        assert session.scalars(select(Attachment.material_code).where(Attachment.case_id == case_id)).all() == ["M1"]
    assert "已发起办件" in client.get(f"/oa/{document_id}").text

    stranger = page_login(api, "finance.clerk.0", htmx=False)
    assert stranger.get(f"/oa/{document_id}").status_code == 404
    assert "关于调整内设机构的请示" not in stranger.get("/oa?state=started").text


def test_declining_needs_a_reason_and_queues_the_reply(api: Api) -> None:
    document_id, _ = _document(api, "OA-PAGE-2")
    client = page_login(api, "office.clerk.0", htmx=False)
    token = csrf_headers(client)["x-csrf-token"]
    empty = client.post(f"/oa/{document_id}/decline", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and "请填写退文理由" in empty.text
    declined = client.post(f"/oa/{document_id}/decline", data={"csrf_token": token, "reason": "请走机构编制审批"},
                           follow_redirects=False)
    assert declined.status_code == 303
    with unit_of_work(api.app.state.engine) as session:
        assert session.get(OaDocument, document_id).state == "declined"  # type: ignore[union-attr]
        [reply] = session.scalars(select(OutboundMessage).where(
            OutboundMessage.message_id == f"oa-{document_id}-declined")).all()
        assert reply.payload["reason"] == "请走机构编制审批"
        session.execute(delete(OutboundMessage).where(OutboundMessage.id == reply.id))


def test_the_integrations_page_is_the_system_administrators(api: Api) -> None:
    assert page_login(api, "office.clerk.0", htmx=False).get("/admin/integrations").status_code == 403
    engine = api.app.state.engine
    with unit_of_work(engine) as session:
        dead = OutboundMessage(channel="province", kind="up_pro_accept", key="1", message_id="page-test-dead",
                               payload={}, state="dead", attempts=3, last_error="拒收：字段校验不通过",
                               last_attempt_at=utcnow() - timedelta(minutes=5))
        session.add(dead)
        session.flush()
        dead_id = dead.id
    try:
        root = page_login(api, api.root, htmx=False)
        page = root.get("/admin/integrations")
        assert page.status_code == 200
        assert "省政务服务平台办件上报" in page.text and "OA 公文交换" in page.text
        assert "字段校验不通过" in page.text and "有失败消息" in page.text
        token = csrf_headers(root)["x-csrf-token"]
        assert root.post(f"/admin/integrations/messages/{dead_id}/skip", data={"csrf_token": token},
                         follow_redirects=False).status_code == 303
        with unit_of_work(engine) as session:
            assert session.get(OutboundMessage, dead_id).state == "skipped"  # type: ignore[union-attr]
    finally:
        with unit_of_work(engine) as session:
            session.execute(delete(OutboundMessage).where(OutboundMessage.id == dead_id))
