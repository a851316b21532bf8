"""Sealing concluded cases' result documents, and checking sealed files.

When a case is concluded (办结), its result document (办结通知书 or 不予许可决定书) is issued by the documents
follower; this follower then has it sealed with the handling unit's seal:

* by the **local signing service** (the default): the PDF is stamped with the seal image, its bytes are
  digested with SM3 and signed with the unit's SM2 key, and the signature structure is embedded — at once, in
  the follower's transaction;
* by the **provincial e-seal service** when ``XIETONG_ESEAL_URL`` is set: a ``sealed_result`` row waits in
  ``pending`` and an outbound message carries the PDF to the service (``provincial``); the channel's
  ``on_done`` stores what comes back.

Either way the sealing completes with a ``case.result_sealed`` event on the case's chain (actor: the system,
its delta naming the provider, the seal and the digest). The case's status stays ``concluded`` throughout: the
办结 decision and its date are the decision's, not the stamp's; the waiting state is the ``sealed_result`` row,
and archiving waits for it (``integrations.archive``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.events import SYSTEM
from xietong.cases.models import Case, Event
from xietong.cases.queries import readable_case
from xietong.cases.service.common import Operation, lock_case
from xietong.config import Settings
from xietong.dataservice.cursors import lock_cursor
from xietong.dataservice.models import FeedCursor
from xietong.db.base import utcnow
from xietong.directory.models import Unit
from xietong.documents.issue import CURSOR as DOCUMENTS_CURSOR
from xietong.documents.models import Document
from xietong.documents.pdf import document_pdf
from xietong.errors import NotFound
from xietong.integrations.outbound import enqueue
from xietong.integrations.seal import envelope, keystore, sm2
from xietong.integrations.seal.image import seal_png
from xietong.integrations.seal.models import SealedResult, UnitSeal
from xietong.security.principal import Principal
from xietong.system.secret import instance_secret

CURSOR = "seal"
CHANNEL = "eseal"
RESULT_KINDS = ("conclusion_notice", "denial_decision")
SEAL_TYPE_UNIT = 1  # GB/T 38540 SES_ESPropertyInfo.type: 1 单位印章
BATCH = 200


def ensure_seal(session: Session, unit_id: int, secret: str) -> UnitSeal:
    """The unit's seal, made on first use: a fresh SM2 key pair (the private key SM4-encrypted) and its image."""
    seal = session.scalar(select(UnitSeal).where(UnitSeal.unit_id == unit_id))
    if seal is not None:
        return seal
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(code="unit_not_found", detail="单位不存在")
    private, public = sm2.new_key_pair()
    seal = UnitSeal(unit_id=unit_id, es_id=f"ES{unit_id:010d}", name=f"{unit.name}电子印章", public_key=public,
                    private_key=keystore.seal_private_key(private, secret), image=seal_png(), created_at=utcnow())
    session.add(seal)
    session.flush()
    return seal


def seal_info(seal: UnitSeal, holder: str) -> dict[str, Any]:
    """``SES_Seal`` of GB/T 38540, as far as we keep it: the seal's ID, property and picture."""
    return {
        "esID": seal.es_id,
        "property": {"type": SEAL_TYPE_UNIT, "name": seal.name, "holder": holder, "cert": seal.public_key,
                     "createDate": seal.created_at.date().isoformat()},
        "picture": {"type": "png", "data": base64.b64encode(seal.image).decode(), "width": 40, "height": 40},
    }


def sign_pdf(pdf: bytes, seal: UnitSeal, private: str, *, holder: str, property_info: dict[str, Any],
             signer: dict[str, Any], provider: str, at: datetime) -> bytes:
    """``pdf`` sealed: the signature structure over its bytes, embedded after them."""
    tbs = envelope.to_sign(seal=seal_info(seal, holder), time_info=at.isoformat(), data=pdf,
                           property_info=property_info, signer=signer, provider=provider)
    return envelope.embed(pdf, envelope.signature_of(tbs, private, seal.public_key))


def _result_document(session: Session, case_id: int, seq: int) -> Document | None:
    return session.scalar(select(Document).where(
        Document.case_id == case_id, Document.event_seq == seq, Document.kind.in_(RESULT_KINDS)))


def _record_sealed(session: Session, result: SealedResult, sealed: bytes, signature: dict[str, Any],
                   now: datetime) -> None:
    result.state, result.file, result.signature, result.sealed_at = "sealed", sealed, signature, now
    session.flush()
    tbs = signature["toSign"]
    row = lock_case(session, result.case_id)
    Operation(session, row, SYSTEM, now, "Asia/Shanghai").finish("case.result_sealed", delta={"seal": {
        "document_id": result.document_id, "provider": result.provider, "es_id": tbs["eseal"]["esID"],
        "seal": tbs["eseal"]["property"]["name"], "data_hash": tbs["dataHash"], "time": tbs["timeInfo"],
    }})


def position_of(session: Session, name: str) -> int:
    """How far another follower has got — read, not locked: followers lock only their own cursor, so two
    worker processes never wait on each other's cursors in opposite orders."""
    cursor = session.get(FeedCursor, name)
    return cursor.position if cursor is not None else 0


def seal_results(session: Session, *, settings: Settings | None = None, batch: int = BATCH) -> int:
    """Follow the change log: have each concluded case's result document sealed; returns how many it started.

    Stops before a conclusion whose documents are not issued yet (the documents follower is behind)."""
    settings = settings or Settings()
    cursor = lock_cursor(session, CURSOR)
    documents_at = position_of(session, DOCUMENTS_CURSOR)
    events = session.execute(
        select(Event.case_id, Event.seq, Event.type, Event.position)
        .where(Event.position > cursor.position).order_by(Event.position).limit(batch)
    ).all()
    started = 0
    for event in events:
        if event.type == "case.concluded":
            if event.position > documents_at:
                break
            document = _result_document(session, event.case_id, event.seq)
            if document is not None and session.scalar(
                    select(SealedResult.id).where(SealedResult.document_id == document.id)) is None:
                _start(session, document, settings)
                started += 1
        cursor.position = event.position
    return started


def _start(session: Session, document: Document, settings: Settings) -> None:
    case = session.get(Case, document.case_id)
    assert case is not None
    unit = session.get(Unit, case.handling_unit_id)
    assert unit is not None
    now = utcnow()
    if settings.eseal_url:
        from xietong.integrations.seal import provincial  # noqa: F401  (registers the channel)

        pdf = document_pdf(document.title, document.body)
        result = SealedResult(case_id=case.id, document_id=document.id, unit_id=unit.id, provider="provincial",
                              state="pending", data_hash=sm2.sm3(pdf), requested_at=now)
        session.add(result)
        session.flush()
        enqueue(session, CHANNEL, "seal.sign", {
            "sealed_result_id": result.id, "seal_code": unit.code, "unit_name": unit.name,
            "file_name": f"{document.number}.pdf", "file": base64.b64encode(pdf).decode(),
            "file_hash": result.data_hash,
            "document": {"number": document.number, "title": document.title, "case_number": case.number},
        }, key=case.id, now=now)
        return
    secret = instance_secret(session, settings.secret_key)
    seal = ensure_seal(session, unit.id, secret)
    private = keystore.open_private_key(seal.private_key, secret, seal.public_key)
    pdf = document_pdf(document.title, document.body, seal_png=seal.image)
    sealed = sign_pdf(pdf, seal, private, holder=unit.name,
                      property_info={"number": document.number, "title": document.title, "case_number": case.number},
                      signer={"unit_id": unit.id, "unit": unit.name, "service": "xietong 本地签章服务"},
                      provider="local", at=now)
    result = SealedResult(case_id=case.id, document_id=document.id, unit_id=unit.id, provider="local",
                          state="pending", data_hash=sm2.sm3(pdf), requested_at=now)
    session.add(result)
    session.flush()
    found = envelope.extract(sealed)
    assert found is not None
    _record_sealed(session, result, sealed, found[1], now)


def provincial_done(session: Session, result_id: int, sealed: bytes) -> None:
    """The provincial service's sealed PDF is back (already verified by the channel): store it, finish."""
    result = session.get(SealedResult, result_id, with_for_update=True)
    if result is None or result.state == "sealed":
        return  # a reply recorded twice (a lost record, a replay) seals once
    found = envelope.extract(sealed)
    assert found is not None
    _record_sealed(session, result, sealed, found[1], utcnow())


# -- reading ---------------------------------------------------------------------------------------------------

def unit_seal(session: Session, unit_id: int) -> UnitSeal:
    """A unit's seal as anyone may see it (its certificate is public; the private key never leaves here)."""
    seal = session.scalar(select(UnitSeal).where(UnitSeal.unit_id == unit_id))
    if seal is None:
        raise NotFound(code="seal_not_found", detail="该单位尚无电子印章（首次盖章时生成）")
    return seal


@dataclass(frozen=True)
class SealState:
    document_id: int
    provider: str
    state: str
    requested_at: datetime
    sealed_at: datetime | None
    verification: dict[str, Any] | None


def case_seal(session: Session, *, principal: Principal, case_id: int) -> SealState | None:
    """Where the case's result document's sealing stands (None: nothing to seal yet)."""
    readable_case(session, principal, case_id)
    result = session.scalar(select(SealedResult).where(SealedResult.case_id == case_id)
                            .order_by(SealedResult.id.desc()).limit(1))
    if result is None:
        return None
    checked = envelope.verify_file(result.file).summary if result.file is not None else None
    return SealState(result.document_id, result.provider, result.state, result.requested_at, result.sealed_at,
                     checked)


def sealed_file(session: Session, *, principal: Principal, case_id: int) -> tuple[str, bytes]:
    readable_case(session, principal, case_id)
    row = session.execute(
        select(Document.number, SealedResult.file).join(Document, Document.id == SealedResult.document_id)
        .where(SealedResult.case_id == case_id, SealedResult.state == "sealed")
        .order_by(SealedResult.id.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound(code="not_sealed", detail="该办件的办结文书尚未盖章")
    return row.number, row.file


def verify(session: Session | None, content: bytes) -> dict[str, Any]:
    """Check any sealed file: its seal, digest and signature (the certificate travels in the file), and — given
    a session — whether the certificate is one of this instance's unit seals (``known_seal``)."""
    result = envelope.verify_file(content).summary
    cert = None
    found = envelope.extract(content)
    if found is not None:
        cert = found[1].get("cert")
    known = None
    if session is not None and isinstance(cert, str):
        known = session.execute(select(UnitSeal.es_id, Unit.name).join(Unit, Unit.id == UnitSeal.unit_id)
                                .where(UnitSeal.public_key == cert)).first()
    result["known_seal"] = {"es_id": known.es_id, "unit": known.name} if known is not None else None
    return result
