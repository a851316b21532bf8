"""Building an archived case's archive information package (档案信息包), after GB/T 42727 and DA/T 85.

The package is a ZIP of:

* ``metadata.xml`` — the archival description (DA/T 46-style 文书 metadata: 档号, 全宗号, 年度, 保管期限,
  题名, 责任者, 日期) plus the case's particulars, how many items and events the package holds and the case's
  last event hash;
* ``documents/NN-<kind>.pdf`` — every document issued for the case, the sealed result document as sealed, and
  ``documents/approval-sheet.pdf`` (审批单);
* ``opinions.xml`` — every step a person closed, with its handler, time, decision and opinion;
* ``events.json`` — the case's whole event log with each event's hash chain;
* ``manifest.xml`` — one ``条目`` per item above: its sequence number, path, format, size and SM3;
* ``manifest.sig.json`` — the handling unit's SM2 signature (GB/T 38540 structure) over ``manifest.xml``;
* ``report.json`` — the 四性检测 report made when the package was built (``check``), outside the manifest.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.enums import STATUS_LABELS, CaseStatus
from xietong.cases.models import Case, Event
from xietong.catalog.models import LocalMatter
from xietong.directory.models import Unit
from xietong.documents.models import Document
from xietong.documents.pdf import approval_sheet_pdf, document_pdf
from xietong.documents.service import approval_sheet
from xietong.integrations.seal import envelope, keystore, sm2
from xietong.integrations.seal.models import SealedResult
from xietong.integrations.seal.service import ensure_seal, seal_info
from xietong.security.principal import SYSTEM_PRINCIPAL

NS = "urn:xietong:archive:1"
MANIFEST, SIGNATURE, REPORT = "manifest.xml", "manifest.sig.json", "report.json"
RETENTION = "D30"  # 保管期限 定期30年 (DA/T 22 for 办件 of this kind)
RESULTS = {"granted": "准予", "denied": "不予"}
FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # ZIP entry times: the package's bytes depend on its content only


@dataclass(frozen=True)
class Item:
    path: str
    kind: str  # 元数据 | 文书 | 审批单 | 意见 | 事件日志
    data: bytes

    @property
    def format(self) -> str:
        return self.path.rsplit(".", 1)[-1]


def archival_code(fonds: str, case: Case, tz: str) -> str:
    year = (case.archived_at or case.concluded_at or case.created_at).astimezone(ZoneInfo(tz)).year
    return f"{fonds}-XT·{year}-{RETENTION}-{case.number}"


def _xml(root: Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8")


def _text(parent: Element, tag: str, value: Any) -> None:
    SubElement(parent, tag).text = "" if value is None else str(value)


def _time(at: datetime | None) -> str:
    return at.isoformat() if at is not None else ""


def _events(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)).all()
    return [{"case_id": e.case_id, "seq": e.seq, "type": e.type, "actor": [e.actor_kind, e.actor_id, e.acting_for_id],
             "at": e.at.isoformat(), "delta": e.delta, "prev_hash": e.prev_hash, "hash": e.hash} for e in rows]


def _documents(session: Session, case_id: int) -> list[Item]:
    sealed = dict(session.execute(select(SealedResult.document_id, SealedResult.file).where(
        SealedResult.case_id == case_id, SealedResult.state == "sealed")).all())
    items = []
    for n, doc in enumerate(session.scalars(select(Document).where(Document.case_id == case_id)
                                            .order_by(Document.id)), 1):
        data = sealed.get(doc.id) or document_pdf(doc.title, doc.body)
        items.append(Item(f"documents/{n:02d}-{doc.kind}.pdf", "文书", data))
    return items


def _opinions(steps: list[tuple[str, str, str, str, str]]) -> bytes:
    root = Element("办理意见", {"xmlns": NS})
    for n, (step, unit, person, at, opinion) in enumerate(steps, 1):
        node = SubElement(root, "意见", {"序号": str(n)})
        _text(node, "环节", step)
        _text(node, "办理单位", unit)
        _text(node, "办理人", person)
        _text(node, "时间", at)
        _text(node, "意见", opinion)
    return _xml(root)


def _metadata(session: Session, case: Case, code: str, fonds: str, n_items: int, events: list[dict[str, Any]],
              packed_at: datetime) -> bytes:
    matter = session.scalar(select(LocalMatter.name).where(LocalMatter.id == case.local_matter_id))
    handling = session.scalar(select(Unit.name).where(Unit.id == case.handling_unit_id))
    applicant = session.scalar(select(Unit.name).where(Unit.id == case.applicant_unit_id))
    root = Element("档案信息包", {"xmlns": NS, "版本": "1"})
    SubElement(root, "封装信息", {"封装时间": packed_at.isoformat(), "封装者": "xietong", "包格式": "ZIP",
                               "摘要算法": "SM3", "签名算法": sm2.SIGNATURE_ALGORITHM})
    entity = SubElement(root, "档案实体")
    for tag, value in (
        ("档号", code), ("全宗号", fonds), ("年度", code.split("·")[1][:4]), ("保管期限", RETENTION),
        ("题名", f"{matter}（{case.number}）"), ("责任者", handling), ("日期", _time(case.concluded_at)),
        ("办件编号", case.number), ("事项", matter), ("申请单位", applicant), ("承办单位", handling),
        ("状态", STATUS_LABELS[CaseStatus(case.status)]), ("办理结果", RESULTS.get(case.result or "", "")),
        ("申请时间", _time(case.submitted_at)), ("受理时间", _time(case.accepted_at)),
        ("办结时间", _time(case.concluded_at)), ("归档时间", _time(case.archived_at)),
        ("件数", n_items), ("事件数", len(events)), ("末事件摘要", events[-1]["hash"] if events else ""),
    ):
        _text(entity, tag, value)
    return _xml(root)


def manifest_xml(code: str, items: list[Item]) -> bytes:
    root = Element("清单", {"xmlns": NS, "档号": code, "摘要算法": "SM3"})
    for n, item in enumerate(items, 1):
        SubElement(root, "条目", {"序号": str(n), "路径": item.path, "类型": item.kind, "格式": item.format,
                                "大小": str(len(item.data)), "SM3": sm2.sm3(item.data)})
    return _xml(root)


def zip_package(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries:
            archive.writestr(zipfile.ZipInfo(path, FIXED_TIME), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def build(session: Session, case_id: int, *, fonds: str, secret: str, now: datetime,
          tz: str = "Asia/Shanghai") -> tuple[str, list[tuple[str, bytes]]]:
    """The package's archival code and entries (without the report): every item, its manifest, the signature."""
    case = session.get(Case, case_id)
    assert case is not None
    code = archival_code(fonds, case, tz)
    header, steps = approval_sheet(session, principal=SYSTEM_PRINCIPAL, case_id=case_id, tz=tz)
    events = _events(session, case_id)
    items = [
        *_documents(session, case_id),
        Item("documents/approval-sheet.pdf", "审批单", approval_sheet_pdf(header, steps)),
        Item("opinions.xml", "意见", _opinions(steps)),
        Item("events.json", "事件日志", json.dumps(events, ensure_ascii=False, indent=1).encode()),
    ]
    items.insert(0, Item("metadata.xml", "元数据", _metadata(session, case, code, fonds, len(items) + 1, events, now)))
    manifest = manifest_xml(code, items)
    unit = session.get(Unit, case.handling_unit_id)
    assert unit is not None
    seal = ensure_seal(session, unit.id, secret)
    private = keystore.open_private_key(seal.private_key, secret, seal.public_key)
    tbs = envelope.to_sign(seal=seal_info(seal, unit.name), time_info=now.isoformat(), data=manifest,
                           property_info={"archival_code": code, "case_number": case.number},
                           signer={"unit_id": unit.id, "unit": unit.name, "service": "xietong 电子档案封装"},
                           provider="local")
    signature = envelope.signature_of(tbs, private, seal.public_key)
    entries = [(item.path, item.data) for item in items]
    entries += [(MANIFEST, manifest), (SIGNATURE, json.dumps(signature, ensure_ascii=False, indent=1).encode())]
    return code, entries
