"""Tests of the demo history's pure parts: office hours, plans and their quotas, ids, event deltas (no database)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from functools import cache

from xietong.cases.events import jsonable
from xietong.clock.calendar import WorkCalendar
from xietong.demo.catalogue import build_catalogue
from xietong.demo.city import build_city
from xietong.demo.context import _form_keys
from xietong.demo.load import reference_instant
from xietong.demo.record import event_delta
from xietong.demo.shares import SHARES, InterleavedIds
from xietong.demo.timeline import OPEN_FATES, QUOTAS, OfficeClock, make_plans, people_index
from xietong.engine.definition import compile_process

TZ = "Asia/Shanghai"
AS_OF = reference_instant(date(2026, 11, 25), TZ)


@cache
def clock() -> OfficeClock:
    return OfficeClock(WorkCalendar(tz=TZ), AS_OF)


def local(moment: datetime) -> datetime:
    return moment.astimezone(clock().zone).replace(tzinfo=None)


def test_office_time_skips_nights_weekends_and_holidays() -> None:
    c = clock()
    friday = c.at(date(2026, 11, 20), 8 * 60)  # 16:30 local
    assert local(friday) == datetime(2026, 11, 20, 16, 30)
    assert local(c.advance(friday, 120)) == datetime(2026, 11, 23, 9, 30)  # an hour on Friday, an hour on Monday
    saturday = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    assert local(c.advance(saturday, 30)) == datetime(2026, 11, 23, 9, 0)
    before_holiday = c.at(date(2026, 9, 30), 9 * 60 - 10)  # 17:20 on the eve of National Day
    after = c.calendar.next_working_day(date(2026, 9, 30))
    assert local(c.advance(before_holiday, 20)) == datetime.combine(after, datetime.min.time()) + timedelta(minutes=520)
    assert after > date(2026, 10, 7)  # the National Day week is off
    assert c.advance(AS_OF, 10**7) == c.never


def test_days_before_counts_working_days() -> None:
    c = clock()
    rng = random.Random(1)
    assert local(c.days_before(1, rng)).date() == date(2026, 11, 24)
    assert local(c.days_before(5, rng)).date() == date(2026, 11, 18)
    assert all(c.calendar.is_working_day(day) for day in c.workdays)
    assert c.workdays[-1] < date(2026, 11, 25) and c.workdays[0] >= date(2024, 11, 25)


def test_plans_meet_the_quotas_and_stay_before_the_reference() -> None:
    from xietong.demo.seed import PublishedMatter

    city = build_city()
    catalogue = build_catalogue(city)
    matters = [
        PublishedMatter(
            local_id=i,
            version_id=i,
            base_id=i,
            code=impl.code,
            name=impl.name,
            region_code=impl.region_code,
            region_id=1,
            unit_key=impl.unit_key,
            handling_unit_id=1,
            kind=m.kind,
            legal_limit_days=m.legal_limit_days,
            promised_limit_days=impl.promised_limit_days,
            matter=m,
            process=compile_process(catalogue.processes[m.process_id]),
            form=None,
            materials=(),  # type: ignore[arg-type]
        )
        for i, (m, impl) in enumerate((m, impl) for m in catalogue.matters for impl in m.implementations)
    ]
    departments: dict[str, list[str]] = {}
    for unit in city.departments():
        departments.setdefault(unit.region_code, []).append(unit.key)
    plans = make_plans(matters, people_index(city.people, departments), clock(), 400, random.Random(7))
    fates = Counter(p.fate for p in plans)
    assert len(plans) == 400 and fates["normal"] > 300
    for fate, (_, minimum) in QUOTAS.items():
        assert fates[fate] >= minimum, fate
    assert [p.submitted_at for p in plans] == sorted(p.submitted_at for p in plans)
    assert all(AS_OF - timedelta(days=731) < p.submitted_at < AS_OF for p in plans)
    for plan in plans:
        assert plan.applicant.unit_key != plan.matter.unit_key and plan.applicant.post_code == "clerk"
        if plan.fate in OPEN_FATES:
            assert plan.matter.kind == "promised" and plan.submitted_at > AS_OF - timedelta(days=60)


def test_interleaved_ids_never_collide_and_stay_dense() -> None:
    shares = [InterleavedIds({"event": 101}, share) for share in range(SHARES)]
    ids = [shares[i % SHARES]("event") for i in range(20)]
    assert sorted(ids) == list(range(101, 121))


def test_event_delta_is_what_jsonable_makes() -> None:
    at = datetime(2026, 11, 20, 3, 4, 5, tzinfo=UTC)
    delta = {
        "case": {"status": "accepted", "accepted_at": at, "due_at": at, "form": {"title": "申请", "n": [1, 2.5]}},
        "tasks_opened": [{"id": 1, "due_at": at, "unit_id": 3}],
        "scopes_opened": [{"id": 1, "data": {"signers": [{"unit_id": 1}], "ratio": 0.5}}],
        "step_results": {"review": {"approved": True}},
        "process_state": "running",
        "task_completed": {"id": 9, "opinion": "同意"},
    }
    assert event_delta(delta) == jsonable(delta)


def test_engine_form_keeps_the_fields_conditions_read() -> None:
    processes = build_catalogue(build_city()).processes
    keys = {pid: _form_keys(compile_process(body)) for pid, body in processes.items()}
    assert keys["amount.50.200"] == {"amount"}
    assert keys["data_branch"] == {"share_type"}
    assert keys["linear2"] == frozenset() and keys["joint.finance.audit.government_office"] == frozenset()
