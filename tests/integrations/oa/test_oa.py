"""The OA exchange end to end over real HTTP: the OA's stand-in sends a document to the xietong app served on
loopback, a clerk starts a case from it, and the result goes back to the OA through the worker — waiting while
the OA is down, sent once."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from tests.cases.test_flow import decide, open_tasks
from tests.factories import joint_approval_process, publish_matter
from tests.web.conftest import Api, api
from xietong.cases import service as cases
from xietong.cases.models import Attachment, Case
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.demo.samples import pdf_bytes
from xietong.integrations.models import OutboundMessage
from xietong.integrations.oa.models import OaDocument
from xietong.integrations.outbound import OutboundOptions, send_outbound
from xietong.standins import Running, serve_in_thread
from xietong.standins.oa import OaSystem
from xietong.worker.loop import run_once

__all__ = ["api"]  # the committed little city of the API tests

MATERIALS = [{"code": "M1", "name": "请示文件", "required": True, "formats": ["pdf"]}]


@dataclass
class Exchange:
    oa: OaSystem
    oa_server: Running
    xietong: Running
    options: OutboundOptions
    matter_id: int


@pytest.fixture
def exchange(api: Api) -> Iterator[Exchange]:
    oa = OaSystem()
    oa_server, xietong = serve_in_thread(oa.app()), serve_in_thread(api.app)
    settings = api.app.state.settings.model_copy(update={"oa_url": oa_server.url})
    with unit_of_work(api.app.state.engine) as session:
        matter_id = publish_matter(session, api.city, joint_approval_process(), materials=MATERIALS).id
    options = OutboundOptions(settings=settings, timeout_seconds=2)
    run_once(api.app.state.engine, outbound=options)  # the OA follower starts following from here
    yield Exchange(oa, oa_server, xietong, options, matter_id)
    oa_server.close()
    xietong.close()
    with unit_of_work(api.app.state.engine) as session:
        session.execute(delete(OutboundMessage).where(OutboundMessage.channel == "oa"))


def a_document(api: Api, oa_doc_id: str, **extra: object) -> dict[str, object]:
    return {
        "oa_doc_id": oa_doc_id, "doc_number": "丽政办〔2026〕12号", "title": "关于增加编制的请示",
        "sender": "市政府办公室秘书处", "unit": api.city.units["office"].code, "body": "请予审批。",
        "attachments": [{"filename": "请示.pdf", "content": base64.b64encode(pdf_bytes("请示")).decode()}], **extra,
    }


def worker(api: Api, exchange: Exchange, *, later: int = 0) -> None:
    """Worker rounds until idle; ``later`` minutes ahead for the sending (a retry waits for its backoff)."""
    engine = api.app.state.engine
    for _ in range(100):
        done = run_once(engine, outbound=exchange.options)
        sent = send_outbound(engine, options=exchange.options, now=utcnow() + timedelta(minutes=later))
        if not sent and not any(done.values()):
            return


def test_a_document_starts_a_case_and_its_result_goes_back_once(api: Api, exchange: Exchange) -> None:
    oa_doc_id = f"OA-{exchange.matter_id}-1"
    sent = exchange.oa.send_document(exchange.xietong.url, a_document(api, oa_doc_id))
    assert sent.status_code == 201, sent.text
    again = exchange.oa.send_document(exchange.xietong.url, a_document(api, oa_doc_id))
    assert again.status_code == 200 and again.json()["id"] == sent.json()["id"]  # a resend is the same document

    clerk = api.login("office.clerk.0")
    inbox = clerk.get("/api/v1/oa/documents").json()
    [document] = [d for d in inbox if d["oa_doc_id"] == oa_doc_id]
    assert document["attachments"][0]["filename"] == "请示.pdf" and document["state"] == "new"
    stranger = api.login("finance.clerk.0")
    assert all(d["oa_doc_id"] != oa_doc_id for d in stranger.get("/api/v1/oa/documents").json())
    assert stranger.get(f"/api/v1/oa/documents/{document['id']}").status_code == 404

    started = clerk.post(f"/api/v1/oa/documents/{document['id']}/start",
                         json={"local_matter_id": exchange.matter_id, "materials": {"M1": [0]}})
    assert started.status_code == 201, started.text
    case_id = started.json()["case_id"]
    twice = clerk.post(f"/api/v1/oa/documents/{document['id']}/start", json={"local_matter_id": exchange.matter_id})
    assert twice.status_code == 409 and "已经处理过" in twice.json()["detail"]

    engine = api.app.state.engine
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and (case.channel, case.title) == ("oa", "关于增加编制的请示")
        [attachment] = session.scalars(select(Attachment).where(Attachment.case_id == case_id)).all()
        assert (attachment.material_code, attachment.content_type) == ("M1", "application/pdf")
        held = session.scalar(select(OaDocument).where(OaDocument.oa_doc_id == oa_doc_id))
        assert held is not None and "content" not in held.attachments[0]  # the bytes moved to the case
        cases.accept_case(session, principal=api.city.principal(session, "staffing"), case_id=case_id)
    with unit_of_work(engine) as session:
        while tasks := open_tasks(session, case_id):
            for task in tasks:
                decide(session, api.city, task)
        cases.conclude_case(session, principal=api.city.principal(session, "staffing"), case_id=case_id,
                            result="granted", note="同意增加编制 2 名")

    exchange.oa.down = True  # the OA link is paused: the result waits
    worker(api, exchange)
    assert exchange.oa.received == {}
    with unit_of_work(engine) as session:
        [waiting] = session.scalars(select(OutboundMessage).where(OutboundMessage.channel == "oa",
                                                                  OutboundMessage.kind == "result")).all()
        assert waiting.state == "pending" and waiting.payload["reply_to"] == oa_doc_id
    exchange.oa.down = False
    worker(api, exchange, later=30)
    [result] = [m for m in exchange.oa.received.values() if m["reply_to"] == oa_doc_id]
    assert result["kind"] == "result" and result["result"] == "granted"
    assert result["document"]["title"] == "办结通知书" and "同意增加编制 2 名" in result["document"]["body"]
    assert exchange.oa.duplicates == 0 and exchange.oa.refused == []


def test_a_declined_document_tells_the_oa_why(api: Api, exchange: Exchange) -> None:
    oa_doc_id = f"OA-{exchange.matter_id}-2"
    document = exchange.oa.send_document(exchange.xietong.url, a_document(api, oa_doc_id)).json()
    clerk = api.login("office.clerk.0")
    empty = clerk.post(f"/api/v1/oa/documents/{document['id']}/decline", json={"reason": "  "})
    assert empty.status_code == 422 and empty.json()["detail"] == "请填写退文理由"
    declined = clerk.post(f"/api/v1/oa/documents/{document['id']}/decline", json={"reason": "不属于协同事项"})
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    worker(api, exchange)
    [reply] = [m for m in exchange.oa.received.values() if m["reply_to"] == oa_doc_id]
    assert (reply["kind"], reply["reason"]) == ("declined", "不属于协同事项")


def test_bad_documents_are_refused_and_nothing_is_kept(api: Api, exchange: Exchange) -> None:
    url = exchange.xietong.url
    forged = exchange.oa.send_document(url, a_document(api, "OA-forged"), secret="not-the-secret")
    assert forged.status_code == 401 and forged.headers["content-type"].startswith("application/problem+json")
    assert "签名验证失败" in forged.json()["detail"]
    unknown = exchange.oa.send_document(url, a_document(api, "OA-unknown", unit="no-such-unit"))
    assert unknown.status_code == 422 and "收文单位不存在" in unknown.json()["detail"]
    garbled = exchange.oa.send_document(url, a_document(api, "OA-garbled", attachments=[
        {"filename": "x.pdf", "content": "@@not base64@@"}]))
    assert garbled.status_code == 422 and "base64" in garbled.json()["detail"]
    missing = exchange.oa.send_document(url, {"oa_doc_id": "OA-missing"})
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} >= {"标题", "收文单位", "文号"}
    with unit_of_work(api.app.state.engine) as session:
        kept = session.scalars(select(OaDocument.oa_doc_id).where(OaDocument.oa_doc_id.in_(
            ["OA-forged", "OA-unknown", "OA-garbled", "OA-missing"]))).all()
    assert kept == []
