"""The provincial e-seal service, asynchronously through the outbox, against its stand-in over real HTTP: the
case's result is sealed when the sealed document comes back; a wrong gateway signature is refused; the
service down then back loses nothing and seals once; malformed replies are refused."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, select, update

from tests.integrations.cases import ALL, committed, committed_concluded_case
from tests.integrations.outside import clean_channels, messages, options  # noqa: F401  (fixture)
from xietong.cases.models import Event
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.integrations.models import OutboundMessage
from xietong.integrations.outbound import send_outbound
from xietong.integrations.seal import envelope
from xietong.integrations.seal import service as seals
from xietong.integrations.seal.models import SealedResult
from xietong.standins import Running, serve_in_thread
from xietong.standins.eseal import ESealService, make_app, settings_for

pytestmark = pytest.mark.usefixtures("clean_channels")


@pytest.fixture
def eseal() -> Iterator[tuple[ESealService, Running]]:
    service = ESealService()
    running = serve_in_thread(make_app(service))
    yield service, running
    running.close()


def provincial(settings: Settings, url: str, **updates: str) -> Settings:
    return settings.model_copy(update={**settings_for(url), **updates})


def result_of(engine: Engine, case_id: int) -> SealedResult:
    with unit_of_work(engine) as session:
        row = session.scalar(select(SealedResult).where(SealedResult.case_id == case_id))
        assert row is not None
        session.expunge(row)
        return row


def event_types(engine: Engine, case_id: int) -> list[str]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(Event.type).where(Event.case_id == case_id).order_by(Event.seq)))


def requested(engine: Engine, settings: Settings) -> int:
    """A committed concluded case whose sealing has been asked of the provincial service."""
    _city, case_id = committed_concluded_case(engine)
    committed(engine, seals.seal_results, settings=settings, batch=ALL)
    return case_id


def test_the_result_is_sealed_when_the_sealed_document_comes_back(
        db_engine: Engine, settings: Settings, eseal: tuple[ESealService, Running]) -> None:
    service, running = eseal
    prov = provincial(settings, running.url)
    case_id = requested(db_engine, prov)
    waiting = result_of(db_engine, case_id)
    assert (waiting.state, waiting.provider, waiting.file) == ("pending", "provincial", None)
    assert "case.result_sealed" not in event_types(db_engine, case_id)  # waiting for the province

    send_outbound(db_engine, options=options(prov))
    sealed = result_of(db_engine, case_id)
    assert sealed.state == "sealed" and sealed.file is not None
    checked = envelope.verify_file(sealed.file)
    assert checked.ok and checked.signature["toSign"]["provider"] == "provincial"  # type: ignore[index]
    assert checked.signature["toSign"]["dataHash"] == sealed.data_hash  # type: ignore[index]
    assert event_types(db_engine, case_id)[-1] == "case.result_sealed"
    [message] = messages(db_engine, "eseal", case_id)
    assert message.state == "done" and message.message_id in service.sealed
    assert service.seals  # the service used its own seal for the unit; no private key of ours went out
    assert "private" not in str(message.payload).lower()


def test_a_wrong_gateway_secret_is_refused_and_nothing_is_sealed(
        db_engine: Engine, settings: Settings, eseal: tuple[ESealService, Running]) -> None:
    service, running = eseal
    case_id = requested(db_engine, provincial(settings, running.url))
    send_outbound(db_engine, options=options(provincial(settings, running.url, eseal_app_secret="wrong-secret")))
    [message] = messages(db_engine, "eseal", case_id)
    assert message.state == "dead" and "签名错误" in (message.last_error or "")
    assert result_of(db_engine, case_id).state == "pending" and not service.sealed


def test_the_service_down_then_back_loses_nothing_and_seals_once(
        db_engine: Engine, settings: Settings, eseal: tuple[ESealService, Running]) -> None:
    service, running = eseal
    prov = provincial(settings, running.url)
    case_id = requested(db_engine, prov)
    running.close()  # the provincial service is down
    send_outbound(db_engine, options=options(prov))
    [message] = messages(db_engine, "eseal", case_id)
    assert (message.state, message.attempts) == ("pending", 1) and (message.last_error or "").startswith("不可用")
    assert result_of(db_engine, case_id).state == "pending"

    back = serve_in_thread(make_app(service))  # back, at another address, the same service behind it
    try:
        later = provincial(settings, back.url)
        send_outbound(db_engine, options=options(later), now=utcnow() + timedelta(minutes=1))
        assert result_of(db_engine, case_id).state == "sealed"
        # the reply is lost and the message goes again: the service answers its first answer, we seal once
        with unit_of_work(db_engine) as session:
            session.execute(update(OutboundMessage).where(OutboundMessage.id == message.id)
                            .values(state="pending", available_at=utcnow()))
        send_outbound(db_engine, options=options(later))
    finally:
        back.close()
    assert len(service.sealed) == 1 and service.calls == 2
    assert event_types(db_engine, case_id).count("case.result_sealed") == 1


def junk_service(answer: dict) -> FastAPI:  # type: ignore[type-arg]
    app = FastAPI()

    @app.post("/api/seal/sign")
    def sign() -> JSONResponse:
        return JSONResponse(answer)

    return app


@pytest.mark.parametrize(("answer", "error"), [
    ({"code": 0, "data": {"signedFile": base64.b64encode(b"%PDF-1.4 not sealed").decode()}}, "已签章文件验证失败"),
    ({"code": 0, "data": {}}, "应答缺少已签章文件"),
    ({"code": 50010, "msg": "印章已注销"}, "省电子印章系统拒绝"),
])
def test_malformed_replies_are_refused(db_engine: Engine, settings: Settings, answer: dict,  # type: ignore[type-arg]
                                       error: str) -> None:
    refused_with(db_engine, settings, answer, error)


def refused_with(db_engine: Engine, settings: Settings, answer: dict, error: str) -> None:  # type: ignore[type-arg]
    running = serve_in_thread(junk_service(answer))
    try:
        prov = provincial(settings, running.url)
        case_id = requested(db_engine, prov)
        send_outbound(db_engine, options=options(prov))
    finally:
        running.close()
    [message] = messages(db_engine, "eseal", case_id)
    assert message.state == "dead" and error in (message.last_error or "")
    assert result_of(db_engine, case_id).state == "pending"


def test_a_document_sealed_by_someone_else_is_refused(db_engine: Engine, settings: Settings) -> None:
    """A well-formed, verifying seal — but over other bytes than the ones sent."""
    from xietong.documents.pdf import document_pdf
    from xietong.integrations.seal import sm2

    private, public = sm2.new_key_pair()
    other = document_pdf("别的文件", "别的文件\n内容")
    seal = {"esID": "X", "property": {"type": 1, "name": "某章", "cert": public}, "picture": {}}
    tbs = envelope.to_sign(seal=seal, time_info="2026-12-02", data=other, property_info={}, signer={},
                           provider="provincial")
    signed = envelope.embed(other, envelope.signature_of(tbs, private, public))
    refused_with(db_engine, settings, {
        "code": 0, "data": {"signedFile": base64.b64encode(signed).decode()}}, "签的不是所送的文件")


def test_the_worker_seals_with_its_own_settings_not_the_environments(
        db_engine: Engine, settings: Settings, eseal: tuple[ESealService, Running]) -> None:
    """The always-on followers get the worker's settings (the demo's point at its stand-ins): with the
    provincial service configured only there, the worker's tick asks the province, not the local signer."""
    from xietong.worker.loop import run_once

    service, running = eseal
    prov = provincial(settings, running.url)
    _city, case_id = committed_concluded_case(db_engine)
    for _ in range(50):  # the followers move in batches through whatever earlier tests left in the log
        run_once(db_engine, outbound=options(prov))
        with unit_of_work(db_engine) as session:
            state = session.scalar(select(SealedResult.state).where(SealedResult.case_id == case_id))
        if state == "sealed":
            break
    sealed = result_of(db_engine, case_id)
    assert sealed.state == "sealed" and sealed.provider == "provincial"
    assert [m.state for m in messages(db_engine, "eseal", case_id)] == ["done"] and service.sealed
