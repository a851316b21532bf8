"""Reporting to the provincial platform end to end: the worker follows the change log, queues the exchange
records and sends them through the real client to the platform's stand-in over HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, delete, func, select, update

from tests.cases.test_flow import decide, open_tasks, submit_and_accept
from tests.factories import City, joint_approval_process, make_city, publish_matter
from xietong.cases import service
from xietong.cases.changelog import sequence_events
from xietong.cases.models import Case, Event
from xietong.config import Settings
from xietong.dataservice.models import FeedCursor
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.directory.models import Unit
from xietong.integrations.models import OutboundMessage
from xietong.integrations.outbound import OutboundOptions, send_outbound
from xietong.integrations.province.client import client_for
from xietong.integrations.province.follower import CHANNEL, CURSOR, TZ, report_to_province
from xietong.integrations.province.reconcile import reconcile
from xietong.oversight.service import rate_case
from xietong.standins import Running, serve_in_thread
from xietong.standins.province import DEMO_APP_ID, DEMO_SECRET, ProvincePlatform, Received
from xietong.worker.loop import run_once


@dataclass
class Province:
    platform: ProvincePlatform
    running: Running
    options: OutboundOptions


@pytest.fixture
def province(db_engine: Engine, settings: Settings) -> Iterator[Province]:
    platform = ProvincePlatform()
    running = serve_in_thread(platform.app())
    configured = settings.model_copy(update={"province_url": running.url, "province_app_id": DEMO_APP_ID,
                                             "province_secret": DEMO_SECRET})
    with unit_of_work(db_engine) as session:  # follow from now on: other tests' cases are not this test's
        sequence_events(session)
        head = session.scalar(select(func.coalesce(func.max(Event.position), 0)))
        session.execute(delete(FeedCursor).where(FeedCursor.name == CURSOR))
        session.add(FeedCursor(name=CURSOR, position=head))
        session.execute(delete(OutboundMessage).where(OutboundMessage.channel == CHANNEL))
    yield Province(platform, running, OutboundOptions(settings=configured, timeout_seconds=2,
                                                      lease=timedelta(seconds=60)))
    running.close()
    with unit_of_work(db_engine) as session:
        session.execute(delete(OutboundMessage).where(OutboundMessage.channel == CHANNEL))


def work(engine: Engine, province: Province, *, now: datetime | None = None, rounds: int = 20) -> None:
    """The worker until nothing is left to send (at ``now`` for the retries)."""
    for _ in range(rounds):
        done = run_once(engine, outbound=province.options) if now is None else _at(engine, province, now)
        if not done.get("send_outbound") and not done.get("report_to_province"):
            return


def _at(engine: Engine, province: Province, now: datetime) -> dict[str, int]:
    """One worker round with the clock at ``now`` for the sending (retries wait for their backoff)."""
    done = run_once(engine)
    with unit_of_work(engine) as session:
        done["report_to_province"] = report_to_province(session)
    done["send_outbound"] = send_outbound(engine, options=province.options, now=now)
    return done


def a_case(engine: Engine) -> tuple[City, int, str]:
    with unit_of_work(engine) as session:
        city = make_city(session)
        city.units["staffing"].uscc = f"11331100{city.region.code[-6:]:0>6}0000"[:18]
        local = publish_matter(session, city, joint_approval_process())
        case_id = submit_and_accept(session, city, local.id)
        number = session.scalar(select(Case.number).where(Case.id == case_id))
    assert number is not None
    return city, case_id, number


def run_to_conclusion(engine: Engine, city: City, case_id: int) -> None:
    with unit_of_work(engine) as session:
        while tasks := open_tasks(session, case_id):
            for task in tasks:
                decide(session, city, task)
        service.conclude_case(session, principal=city.principal(session, "staffing"), case_id=case_id,
                              result="granted", note="准予增加编制")
    with unit_of_work(engine) as session:
        rate_case(session, principal=city.principal(session, "office"), case_id=case_id, level="satisfied",
                  comment="办理及时")


def records(platform: ProvincePlatform, number: str) -> list[tuple[str, dict[str, object]]]:
    return [(r.table, r.record) for r in platform.received.values() if r.record.get("PROJID") == number]


def test_a_case_is_reported_table_by_table_in_order(db_engine: Engine, province: Province) -> None:
    city, case_id, number = a_case(db_engine)
    work(db_engine, province)
    [(table, accept)] = records(province.platform, number)
    assert table == "up_pro_accept"
    assert accept["ACCEPT_STATE"] == "1" and accept["PROMISETYPE"] == "1" and accept["AREACODE"] == city.region.code
    assert accept["DEPTNAME"] == city.units["staffing"].name and accept["APPLYNAME"] == city.units["office"].name
    assert isinstance(accept["PROMISEVALUE"], int) and len(str(accept["PROJPWD"])) == 6
    datetime.strptime(str(accept["RECEIVETIME"]), "%Y-%m-%d %H:%M:%S")

    run_to_conclusion(db_engine, city, case_id)
    work(db_engine, province)
    tables = [t for t, _ in records(province.platform, number)]
    assert tables == ["up_pro_accept"] + ["up_pro_process"] * 5 + ["up_pro_result", "up_pro_evaluation"]
    steps = [r for t, r in records(province.platform, number) if t == "up_pro_process"]
    assert [s["HANDLE_RESULT"] for s in steps] == ["1"] * 5 and all(s["HANDLEEXPLAIN"] == "同意" for s in steps)
    assert [s["SN"] for s in steps] == sorted(s["SN"] for s in steps)  # type: ignore[type-var]
    [(_, result)] = [(t, r) for t, r in records(province.platform, number) if t == "up_pro_result"]
    assert (result["TRANSACT_RESULT"], result["TRANSACT_DESCRIBE"]) == ("1", "准予增加编制")
    [(_, rating)] = [(t, r) for t, r in records(province.platform, number) if t == "up_pro_evaluation"]
    assert (rating["EVALUATE_LEVEL"], rating["EVALUATE_CONTENT"]) == ("4", "办理及时")
    assert province.platform.refused == [] and province.platform.duplicates == 0
    with unit_of_work(db_engine) as session:
        states = session.scalars(select(OutboundMessage.state).where(OutboundMessage.channel == CHANNEL,
                                                                     OutboundMessage.key == str(case_id))).all()
        assert states == ["done"] * 8


def test_the_platform_down_then_back_loses_nothing_and_keeps_the_order(db_engine: Engine,
                                                                        province: Province) -> None:
    city, case_id, number = a_case(db_engine)
    province.platform.down = True
    work(db_engine, province)
    run_to_conclusion(db_engine, city, case_id)
    work(db_engine, province)
    assert records(province.platform, number) == []
    with unit_of_work(db_engine) as session:
        attempts = session.execute(select(OutboundMessage.kind, OutboundMessage.attempts)
                                   .where(OutboundMessage.key == str(case_id)).order_by(OutboundMessage.id)).all()
    assert attempts[0] == ("up_pro_accept", 1) and all(n == 0 for _, n in attempts[1:])  # the rest wait behind it

    province.platform.down = False
    later = utcnow()
    for minute in range(1, 12):
        _at(db_engine, province, later + timedelta(minutes=minute))
    tables = [t for t, _ in records(province.platform, number)]
    assert tables == ["up_pro_accept"] + ["up_pro_process"] * 5 + ["up_pro_result", "up_pro_evaluation"]
    assert province.platform.refused == []


def test_a_refused_record_is_dead_at_once_and_holds_the_rest_of_its_case(db_engine: Engine,
                                                                         province: Province) -> None:
    city, case_id, number = a_case(db_engine)
    with unit_of_work(db_engine) as session:  # the handling unit lost its credit code: DEPTID is required
        session.execute(update(Unit).where(Unit.id == city.units["staffing"].id).values(uscc=None))
    work(db_engine, province)
    [refusal] = province.platform.refused
    assert refusal["code"] == "1003" and {"field": "DEPTID", "message": "缺少受理部门统一社会信用代码"} in refusal[
        "errors"]
    run_to_conclusion(db_engine, city, case_id)
    work(db_engine, province)
    assert records(province.platform, number) == []
    with unit_of_work(db_engine) as session:
        rows = session.execute(select(OutboundMessage.state, OutboundMessage.last_error, OutboundMessage.attempts)
                               .where(OutboundMessage.key == str(case_id)).order_by(OutboundMessage.id)).all()
    assert rows[0].state == "dead" and "字段校验不通过" in rows[0].last_error
    assert all(r.state == "pending" and r.attempts == 0 for r in rows[1:])


def test_a_wrong_secret_is_refused_by_the_platform(db_engine: Engine, province: Province) -> None:
    _, case_id, number = a_case(db_engine)
    province.options = OutboundOptions(
        settings=province.options.settings.model_copy(update={"province_secret": "wrong"}), timeout_seconds=2)
    work(db_engine, province)
    assert records(province.platform, number) == []
    assert [r["msg"] for r in province.platform.refused] == ["签名验证失败"]
    with unit_of_work(db_engine) as session:
        [state] = session.scalars(select(OutboundMessage.state).where(OutboundMessage.key == str(case_id))).all()
    assert state == "dead"


def test_reconciliation_lists_what_the_platform_has_not_confirmed(db_engine: Engine, province: Province) -> None:
    city, case_id, number = a_case(db_engine)
    run_to_conclusion(db_engine, city, case_id)
    work(db_engine, province)
    today = datetime.now(TZ).date()
    lost = next(s for s, r in province.platform.received.items() if r.table == "up_pro_result")
    del province.platform.received[lost]  # the platform lost one record after acknowledging it
    province.platform.received["stranger-1"] = Received("stranger-1", "up_pro_accept", {"PROJID": "X"}, "SZX",
                                                        today.isoformat())  # reported by someone else
    with httpx.Client() as http:
        receipts = client_for(http, province.options.settings).receipts(today)
    with unit_of_work(db_engine) as session:
        report = reconcile(session, today, receipts)
    assert [line.serial for line in report.unconfirmed] == [lost]
    assert report.unconfirmed[0].case_number == number and report.unconfirmed[0].table == "up_pro_result"
    assert report.unknown == ["stranger-1"] and report.confirmed >= 7 and not report.balanced
