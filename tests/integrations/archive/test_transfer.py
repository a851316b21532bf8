"""Transfer to the e-archive system through its stand-in over real HTTP: the receipt is kept and recorded on
the case's chain; a wrong gateway signature is refused; the system down then back takes the package once; a
package tampered with on the way fails the archive system's own 四性检测; a receipt for another package is
refused."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, select, update

from tests.conftest import own_database
from tests.integrations.archive.test_package import rezip
from tests.integrations.cases import ALL, archive, committed, committed_concluded_case
from tests.integrations.outside import clean_channels, messages, options  # noqa: F401  (fixture)
from xietong.cases.changelog import sequence_events
from xietong.cases.models import Event
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.base import utcnow
from xietong.db.engine import create_db_engine
from xietong.db.session import unit_of_work
from xietong.documents.issue import issue_documents
from xietong.integrations.archive import service as archiving
from xietong.integrations.archive.models import ArchivePackage
from xietong.integrations.models import OutboundMessage
from xietong.integrations.outbound import send_outbound
from xietong.integrations.seal import service as seals
from xietong.integrations.seal import sm2
from xietong.standins import Running, serve_in_thread
from xietong.standins.archive import ArchiveSystem, make_app, settings_for

pytestmark = pytest.mark.usefixtures("clean_channels")


# The archive follower waits, in log order, for each archived case's seal and documents; another test's archived
# case whose provincial seal never came back would hold it, so these tests follow a log of their own.
@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    tmp = tmp_path_factory.mktemp("archive")
    with own_database("archive", tmp) as url:
        yield Settings(database_url=url, data_dir=tmp / "data", demo=True,
                       secret_key="archive-test-secret-that-is-long-enough-0123")


@pytest.fixture(scope="module")
def db_engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def system() -> Iterator[tuple[ArchiveSystem, Running]]:
    archive_system = ArchiveSystem()
    running = serve_in_thread(make_app(archive_system))
    yield archive_system, running
    running.close()


def packed(engine: Engine, settings: Settings) -> int:
    """A committed case concluded, sealed locally, archived and packed; its transfer queued."""
    city, case_id = committed_concluded_case(engine)
    committed(engine, seals.seal_results, settings=settings, batch=ALL)
    committed(engine, archive, city, case_id)
    committed(engine, sequence_events)
    committed(engine, issue_documents, batch=ALL)
    committed(engine, seals.seal_results, settings=settings, batch=ALL)
    committed(engine, archiving.archive_cases, settings=settings, batch=ALL)
    with unit_of_work(engine) as session:  # say why, should the transfer below find nothing queued
        row = session.scalar(select(ArchivePackage).where(ArchivePackage.case_id == case_id))
        assert row is not None, "the archive follower built no package for the case"
        assert row.passed, [i for c in row.report["checks"].values() for i in c["items"] if not i["passed"]]
    return case_id


def package_of(engine: Engine, case_id: int) -> ArchivePackage:
    with unit_of_work(engine) as session:
        row = session.scalar(select(ArchivePackage).where(ArchivePackage.case_id == case_id))
        assert row is not None
        session.expunge(row)
        return row


def with_archive(settings: Settings, url: str, **updates: str) -> Settings:
    return settings.model_copy(update={**settings_for(url), **updates})


def test_the_package_is_transferred_with_a_receipt(db_engine: Engine, settings: Settings,
                                                   system: tuple[ArchiveSystem, Running]) -> None:
    archive_system, running = system
    case_id = packed(db_engine, settings)
    assert package_of(db_engine, case_id).state == "built"
    send_outbound(db_engine, options=options(with_archive(settings, running.url)))
    row = package_of(db_engine, case_id)
    assert row.state == "transferred" and row.receipt is not None and row.transferred_at is not None
    assert row.receipt["receiptNo"].startswith("HZ") and row.receipt["packageSm3"] == row.sm3
    assert archive_system.packages[row.archival_code] == row.package
    with unit_of_work(db_engine) as session:
        last = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq.desc())).first()
    assert last is not None and last.type == "case.archive_transferred"
    assert last.delta["archive"]["receipt_no"] == row.receipt["receiptNo"]


def test_a_wrong_gateway_secret_is_refused(db_engine: Engine, settings: Settings,
                                           system: tuple[ArchiveSystem, Running]) -> None:
    archive_system, running = system
    case_id = packed(db_engine, settings)
    send_outbound(db_engine, options=options(with_archive(settings, running.url, archive_app_secret="nope")))
    [message] = messages(db_engine, "archive", case_id)
    assert message.state == "dead" and "签名错误" in (message.last_error or "")
    assert package_of(db_engine, case_id).state == "built" and not archive_system.taken


def test_the_archive_system_down_then_back_takes_the_package_once(db_engine: Engine, settings: Settings,
                                                                  system: tuple[ArchiveSystem, Running]) -> None:
    archive_system, running = system
    case_id = packed(db_engine, settings)
    running.close()
    send_outbound(db_engine, options=options(with_archive(settings, running.url)))
    [message] = messages(db_engine, "archive", case_id)
    assert message.state == "pending" and (message.last_error or "").startswith("不可用")
    back = serve_in_thread(make_app(archive_system))
    try:
        later = options(with_archive(settings, back.url))
        send_outbound(db_engine, options=later, now=utcnow() + timedelta(minutes=1))
        assert package_of(db_engine, case_id).state == "transferred"
        with unit_of_work(db_engine) as session:  # the receipt was lost: the message goes again
            session.execute(update(OutboundMessage).where(OutboundMessage.id == message.id)
                            .values(state="pending", available_at=utcnow()))
        send_outbound(db_engine, options=later)
    finally:
        back.close()
    assert len(archive_system.taken) == 1 and archive_system.calls == 2
    with unit_of_work(db_engine) as session:
        types = session.scalars(select(Event.type).where(Event.case_id == case_id)).all()
    assert list(types).count("case.archive_transferred") == 1


def test_a_package_tampered_with_on_the_way_fails_the_archive_systems_check(
        db_engine: Engine, settings: Settings, system: tuple[ArchiveSystem, Running]) -> None:
    archive_system, running = system
    case_id = packed(db_engine, settings)
    [message] = messages(db_engine, "archive", case_id)
    tampered = rezip(base64.b64decode(message.payload["package"]), lambda files: files.pop("opinions.xml"))
    with unit_of_work(db_engine) as session:
        session.execute(update(OutboundMessage).where(OutboundMessage.id == message.id).values(payload={
            **message.payload, "package": base64.b64encode(tampered).decode(), "package_sm3": sm2.sm3(tampered)}))
    send_outbound(db_engine, options=options(with_archive(settings, running.url)))
    [message] = messages(db_engine, "archive", case_id)
    assert message.state == "dead" and "四性检测未通过" in (message.last_error or "")
    assert "opinions.xml" in (message.last_error or "") and not archive_system.taken


def test_a_receipt_for_another_package_is_refused(db_engine: Engine, settings: Settings) -> None:
    app = FastAPI()

    @app.post("/api/archive/packages")
    def take() -> JSONResponse:
        return JSONResponse({"code": 0, "data": {"receiptNo": "HZ1", "archivalCode": "X", "packageSm3": "0" * 64}})

    running = serve_in_thread(app)
    try:
        case_id = packed(db_engine, settings)
        send_outbound(db_engine, options=options(with_archive(settings, running.url)))
    finally:
        running.close()
    [message] = messages(db_engine, "archive", case_id)
    assert message.state == "dead" and "回执所指不是所交的档案信息包" in (message.last_error or "")
    assert package_of(db_engine, case_id).state == "built"
