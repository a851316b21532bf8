"""Archiving to the e-archive system: the change-log follower that packs each archived case, and reading.

On ``case.archived`` the follower builds the case's package, runs the 四性检测, keeps package and report
(``archive_package``) and queues its transfer to the archive system (channel ``archive``; without
``XIETONG_ARCHIVE_URL`` the message waits and the health report says unconfigured). It waits — stops its
cursor before the event — while the documents or seal followers have not reached the event yet, so a package
never lacks its issued documents or sealed result. A case whose result document the provincial e-seal service
still holds is set aside (``archive_waiting``) and packed on a later tick once sealed: one seal that never
comes back must not hold up the archiving of every later case. The archive system's receipt is kept on the package and
recorded on the case's chain (``case.archive_transferred``).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.cases.events import SYSTEM
from xietong.cases.models import Event
from xietong.cases.queries import readable_case
from xietong.cases.service.common import Operation, lock_case
from xietong.config import Settings
from xietong.dataservice.cursors import lock_cursor
from xietong.db.base import utcnow
from xietong.documents.issue import CURSOR as DOCUMENTS_CURSOR
from xietong.errors import NotFound
from xietong.integrations.archive.check import four_checks
from xietong.integrations.archive.models import ArchivePackage, ArchiveWaiting
from xietong.integrations.archive.package import REPORT, build, zip_package
from xietong.integrations.outbound import enqueue
from xietong.integrations.seal.models import SealedResult
from xietong.integrations.seal.service import CURSOR as SEAL_CURSOR
from xietong.integrations.seal.service import position_of
from xietong.integrations.seal.sm2 import sm3
from xietong.security.principal import Principal
from xietong.system.secret import instance_secret

CURSOR = "archive"
CHANNEL = "archive"
BATCH = 200


def _followers_reached(session: Session, position: int) -> bool:
    """The documents and seal followers have handled the change log up to ``position``."""
    return min(position_of(session, DOCUMENTS_CURSOR), position_of(session, SEAL_CURSOR)) >= position


def _seal_pending(session: Session, case_id: int) -> bool:
    """The case's result document is with the provincial e-seal service and not back yet."""
    return session.scalar(select(SealedResult.id).where(SealedResult.case_id == case_id,
                                                        SealedResult.state == "pending").limit(1)) is not None


def archive_cases(session: Session, *, settings: Settings | None = None, batch: int = BATCH) -> int:
    """Follow the change log: pack, check and queue every archived case; returns how many packages it built.

    Cases set aside for their seal are tried first, then the change log from the cursor on."""
    settings = settings or Settings()
    cursor = lock_cursor(session, CURSOR)  # also keeps two workers from both packing a waiting case
    built = 0
    for waiting in session.scalars(select(ArchiveWaiting).order_by(ArchiveWaiting.position).limit(batch)).all():
        if not _seal_pending(session, waiting.case_id):
            built += _pack_once(session, waiting.case_id, settings)
            session.delete(waiting)
    events = session.execute(
        select(Event.case_id, Event.type, Event.position)
        .where(Event.position > cursor.position).order_by(Event.position).limit(batch)
    ).all()
    for event in events:
        if event.type == "case.archived":
            if not _followers_reached(session, event.position):
                break
            if _seal_pending(session, event.case_id):
                if session.get(ArchiveWaiting, event.case_id) is None:
                    session.add(ArchiveWaiting(case_id=event.case_id, position=event.position))
            else:
                built += _pack_once(session, event.case_id, settings)
        cursor.position = event.position
    session.flush()
    return built


def _pack_once(session: Session, case_id: int, settings: Settings) -> int:
    if session.scalar(select(ArchivePackage.id).where(ArchivePackage.case_id == case_id)) is not None:
        return 0
    pack_case(session, case_id, settings=settings)
    return 1


def waiting_for_seal(session: Session) -> tuple[int, datetime | None]:
    """How many archived cases wait for their provincial seal, and since when the oldest has."""
    row = session.execute(select(func.count(), func.min(ArchiveWaiting.since))).one()
    return int(row[0]), row[1]


def pack_case(session: Session, case_id: int, *, settings: Settings, now: datetime | None = None) -> ArchivePackage:
    """Build, check and keep one case's package, and queue its transfer."""
    now = now or utcnow()
    secret = instance_secret(session, settings.secret_key)
    code, entries = build(session, case_id, fonds=settings.archive_fonds_code, secret=secret, now=now,
                          tz=settings.timezone)
    report = four_checks(zip_package(entries), now=now)
    package = zip_package([*entries, (REPORT, json.dumps(report, ensure_ascii=False, indent=1).encode())])
    row = ArchivePackage(case_id=case_id, archival_code=code, state="built", package=package,
                         sm3=sm3(package), report=report, passed=report["passed"], built_at=now)
    session.add(row)
    session.flush()
    if report["passed"]:  # a package failing its own check is kept for the administrators, never sent
        from xietong.integrations.archive import client  # noqa: F401  (registers the channel)

        enqueue(session, CHANNEL, "archive.transfer", {
            "package_id": row.id, "archival_code": code, "package_sm3": row.sm3,
            "package": base64.b64encode(package).decode(),
        }, key=case_id, now=now)
    else:
        row.state = "failed"
        session.flush()
    return row


def transferred(session: Session, package_id: int, receipt: dict[str, Any]) -> None:
    """The archive system took the package: keep its receipt, and record it on the case's chain."""
    row = session.get(ArchivePackage, package_id, with_for_update=True)
    if row is None or row.state == "transferred":
        return
    now = utcnow()
    row.state, row.receipt, row.transferred_at = "transferred", receipt, now
    session.flush()
    case = lock_case(session, row.case_id)
    Operation(session, case, SYSTEM, now, "Asia/Shanghai").finish("case.archive_transferred", delta={"archive": {
        "archival_code": row.archival_code, "package_sm3": row.sm3, "receipt_no": receipt.get("receiptNo"),
    }})


def package_of(session: Session, *, principal: Principal, case_id: int) -> ArchivePackage:
    readable_case(session, principal, case_id)
    row = session.scalar(select(ArchivePackage).where(ArchivePackage.case_id == case_id))
    if row is None:
        raise NotFound(code="archive_package_not_found", detail="该办件尚未生成档案信息包")
    return row
