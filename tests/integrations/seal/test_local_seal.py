"""The local signing service: a concluded case's result document sealed, recorded on its chain, and any change
to the sealed file — its content, its signature, something appended — detected."""

from __future__ import annotations

import base64
import json
from io import BytesIO

from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integrations.cases import ALL, concluded_case
from xietong.cases.models import Case, Event
from xietong.cases.replay import reduce_events, verify_chain
from xietong.config import Settings
from xietong.integrations.seal import envelope, sm2
from xietong.integrations.seal import service as seals
from xietong.integrations.seal.models import SealedResult, UnitSeal

LOCAL = Settings(demo=True, secret_key="a-test-instance-secret-that-is-long-enough-42")


def sealed_case(session: Session, result: str = "granted") -> tuple[SealedResult, int]:
    _city, case_id = concluded_case(session, result=result)
    assert seals.seal_results(session, settings=LOCAL, batch=ALL) >= 1
    [row] = session.scalars(select(SealedResult).where(SealedResult.case_id == case_id)).all()
    return row, case_id


def test_a_concluded_cases_result_document_is_sealed_with_the_units_seal(session: Session) -> None:
    row, case_id = sealed_case(session)
    assert row.state == "sealed" and row.provider == "local" and row.file is not None
    checked = envelope.verify_file(row.file)
    assert checked.ok, checked.problems
    tbs = checked.signature["toSign"]  # type: ignore[index]
    seal = session.scalar(select(UnitSeal).where(UnitSeal.unit_id == row.unit_id))
    assert seal is not None
    assert tbs["eseal"]["esID"] == seal.es_id and tbs["eseal"]["property"]["cert"] == seal.public_key
    assert base64.b64decode(tbs["eseal"]["picture"]["data"]) == seal.image and seal.image.startswith(b"\x89PNG")
    assert tbs["dataHash"] == row.data_hash == sm2.sm3(row.file[:tbs["byteRange"][1]])
    assert tbs["propertyInfo"]["title"] == "办结通知书" and tbs["provider"] == "local"
    page = PdfReader(BytesIO(row.file)).pages[0]
    assert "办结通知书" in "".join(page.extract_text().split())  # still an ordinary PDF
    assert len(page.images) == 1  # with the seal stamped on it
    # the sealing is an event on the case's chain, by the system; the chain and its replay still hold
    events = list(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)))
    event = events[-1]
    assert event.type == "case.result_sealed" and event.actor_kind == "system"
    assert verify_chain(events) == []
    case = session.get(Case, case_id)
    assert case is not None and case.status == "concluded"  # the state machine is untouched
    assert reduce_events(events).fields["event_seq"] == case.event_seq
    assert event.delta["seal"]["data_hash"] == row.data_hash and event.delta["seal"]["es_id"] == seal.es_id
    # the private key is not in the database in clear
    assert seal.private_key.startswith("sm4-cbc:v1:")
    assert seals.verify(session, row.file)["known_seal"]["es_id"] == seal.es_id


def test_a_denial_decision_is_sealed_too_and_each_result_only_once(session: Session) -> None:
    row, case_id = sealed_case(session, result="denied")
    assert envelope.verify_file(row.file).signature["toSign"]["propertyInfo"]["title"] == "不予许可决定书"  # type: ignore[arg-type,index]
    assert seals.seal_results(session, settings=LOCAL, batch=ALL) == 0
    assert len(session.scalars(select(SealedResult).where(SealedResult.case_id == case_id)).all()) == 1


def test_a_changed_byte_a_changed_signature_or_appended_content_is_detected(session: Session) -> None:
    row, _ = sealed_case(session)
    sealed = row.file
    assert sealed is not None
    body = sealed.index(b"stream") + 20
    changed = bytearray(sealed)
    changed[body] ^= 0x01
    assert "文件内容与签名时的 SM3 摘要不符：文件已被改动" in envelope.verify_file(bytes(changed)).problems

    data, signature = envelope.extract(sealed)  # type: ignore[misc]
    der = bytearray(base64.b64decode(signature["signature"]))
    der[-3] ^= 0x01
    forged = dict(signature, signature=base64.b64encode(bytes(der)).decode())
    assert "SM2 签名验证失败：签名或签名信息已被改动" in envelope.verify_file(envelope.embed(data, forged)).problems

    renamed = json.loads(json.dumps(signature))
    renamed["toSign"]["signer"]["unit"] = "另一个单位"  # the signed information itself
    assert not envelope.verify_file(envelope.embed(data, renamed)).ok

    assert "签章之后文件又被追加或改动了内容" in envelope.verify_file(sealed + b"\n% more\n").problems
    assert envelope.verify_file(data).problems == ["文件中没有可读的电子签章"]
    # someone re-signing the changed file with a key of their own passes the maths but is no seal of ours
    other_private, other_public = sm2.new_key_pair()
    tbs = dict(signature["toSign"], dataHash=sm2.sm3(bytes(changed[:len(data)])))
    tbs["eseal"] = dict(tbs["eseal"], property=dict(tbs["eseal"]["property"], cert=other_public))
    resealed = envelope.embed(bytes(changed[:len(data)]), envelope.signature_of(tbs, other_private, other_public))
    assert envelope.verify_file(resealed).ok
    assert seals.verify(session, resealed)["known_seal"] is None
