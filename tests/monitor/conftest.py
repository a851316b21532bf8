"""A small fixed quarter (2026Q3) of cases built through the real operations, with hand-computed figures.

Region ``city`` (its supervisor sees only it) and region ``other`` (one case, seen only by the reform
office). Times are 10:00 in Shanghai (02:00 UTC) unless said otherwise. The matter ``two_step`` is handled
by 编办 (staffing): review at 财政局 (finance) → sign at 人社局 (hr_social), promised 5 of a legal 10 working
days; the matter ``immediate`` is handled by finance in one step (即办件, legal limit 0).

- A (web): accepted Mon 07-06; review Tue 07-07; sign returns to review Wed 07-08; review Thu 07-09; sign and
  办结 Fri 07-10 (granted); rated 非常满意 → concluded on time, 4 working days.
- B (counter): accepted 07-06; 补正 Tue 07-07, resubmitted Thu 07-09 (3 working days paused: due 07-13 → 07-16);
  urged Fri 07-17; review 07-17; sign and 办结 Mon 07-20 (denied), 1 trip; rated 不满意 → 整改, answered and
  closed 07-22 → concluded late, 10 − 3 = 7 working days.
- C (mobile): accepted Thu 09-24; holidays 09-25…27 (中秋); review Mon 09-28; sign Wed 09-30 16:00; 办结 09-30
  23:30 local → on time (due Fri 10-09 after 国庆), 3 working days.
- C2 (mobile): as C, but 办结 at 00:30 local on 10-01 (16:30 UTC on 09-30) → concluded in Q4, not Q3.
- D (api): accepted Wed 07-08, suspended Thu 07-09 → open, paused.
- E (web): accepted Wed 07-08 (due Wed 07-15); yellow then red card; 督办 Mon 07-20 → open, overdue, red.
- F (web): submitted Wed 07-08, 不予受理 → submitted only.
- H (web): the immediate matter, accepted and concluded Mon 08-03 → on time, 0 days, outside the speed-up.
- G (web): the other region, accepted 07-08 → open; seen by the reform office only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.cases.test_returns import holder
from tests.engine.test_nodes__multi import tasks
from tests.factories import City, linear_process, make_city, post_rule, publish_matter
from xietong.cases import cards, service
from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter, MatterVersion
from xietong.directory.models import Person
from xietong.monitor.filters import Filters, parse_period
from xietong.oversight import service as oversight
from xietong.oversight.models import OversightOrder
from xietong.security.models import RoleGrant
from xietong.security.principal import Principal, load_principal
from xietong.worker.models import Timer


def at(month: int, day: int, hour: int = 2, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


NOW = at(10, 9)  # Fri 9 October 2026, 10:00 in Shanghai
Q3 = parse_period("2026Q3")


@dataclass
class Quarter:
    city: City
    other: City
    two_step: LocalMatter
    immediate: LocalMatter
    cases: dict[str, int]
    supervisor: Principal  # supervisor over ``city``'s region
    other_supervisor: Principal  # supervisor over ``other``'s region
    reform: Principal  # reform office over everything

    def filters(self, **kwargs: int) -> Filters:
        return Filters(period=Q3, **kwargs)

    def ids(self, *names: str) -> set[int]:
        return {self.cases[n] for n in names}


def _grant(session: Session, city: City, role: str, scope: str) -> Principal:
    person = Person(employee_code=f"E-{role}-{city.region.code}", username=f"{role}_{city.region.code}", name=role)
    session.add(person)
    session.flush()
    session.add(RoleGrant(person_id=person.id, role=role, scope_kind=scope,
                          scope_region_id=city.region.id if scope == "region" else None))
    session.flush()
    return load_principal(session, person.id)


class Build:
    def __init__(self, session: Session, city: City) -> None:
        self.session, self.city = session, city

    def submit(self, local: LocalMatter, when: datetime, channel: str = "web", *, accept: bool = True) -> int:
        case_id, _ = service.submit_case(
            self.session, principal=self.city.principal(self.session, "office"), local_matter_id=local.id,
            applicant_unit_id=self.city.units["office"].id, form={"title": "统计测试"}, channel=channel, now=when,
        )
        if accept:
            service.accept_case(self.session, principal=self.handling(local), case_id=case_id, now=when)
        return case_id

    def handling(self, local: LocalMatter) -> Principal:
        function = next(f for f, u in self.city.units.items() if u.id == local.handling_unit_id)
        return self.city.principal(self.session, function)

    def step(self, case_id: int, when: datetime) -> None:
        [task] = tasks(self.session, case_id)
        service.complete_task(self.session, principal=holder(self.session, task), task_id=task.id, approved=True,
                              now=when)

    def conclude(self, local: LocalMatter, case_id: int, when: datetime, result: str = "granted") -> None:
        service.conclude_case(self.session, principal=self.handling(local), case_id=case_id, result=result, now=when)


def fire(session: Session, case_id: int, kind: str, when: datetime) -> None:
    """Run one card timer's handler, as the worker would at ``when``."""
    timer = session.execute(select(Timer).where(Timer.case_id == case_id, Timer.kind == kind)).scalars().one()
    getattr(cards, kind)(session, timer, when)


def build_quarter(session: Session) -> Quarter:
    city, other = make_city(session), make_city(session)
    two_step = publish_matter(session, city, linear_process(("review", post_rule("finance")),
                                                            ("sign", post_rule("hr_social"))))
    immediate = publish_matter(session, city, linear_process(("handle", post_rule("finance"))), handling="finance",
                               kind="immediate")
    elsewhere = publish_matter(session, other, linear_process(("review", post_rule("finance"))))
    # The factory publishes at the wall-clock time; the quarter's catalogue must be in force by its end.
    session.execute(update(MatterVersion).values(published_at=at(6, 1)).where(
        MatterVersion.local_matter_id.in_([two_step.id, immediate.id, elsewhere.id])))
    b, s = Build(session, city), session
    staffing, office = city.principal(s, "staffing"), city.principal(s, "office")
    supervisor = _grant(s, city, "supervisor", "region")
    reform = _grant(s, city, "reform_office", "all")
    cases: dict[str, int] = {}

    cases["A"] = a = b.submit(two_step, at(7, 6))
    b.step(a, at(7, 7))
    [sign] = tasks(s, a)
    service.return_task(s, principal=holder(s, sign), task_id=sign.id, target="review", reason="请补充说明",
                        now=at(7, 8))
    b.step(a, at(7, 9))
    b.step(a, at(7, 10))
    b.conclude(two_step, a, at(7, 10))
    oversight.rate_case(s, principal=office, case_id=a, level="very_satisfied", now=at(7, 11))

    cases["B"] = c = b.submit(two_step, at(7, 6), "counter")
    service.request_supplement(s, principal=staffing, case_id=c, items=[{"note": "缺少附件"}], now=at(7, 7))
    service.resubmit_case(s, principal=office, case_id=c, form={"title": "统计测试（补正）"}, now=at(7, 9))
    oversight.urge_case(s, principal=office, case_id=c, now=at(7, 17, 1))
    b.step(c, at(7, 17))
    b.step(c, at(7, 20))
    b.conclude(two_step, c, at(7, 20), "denied")
    # No operation records trips yet (DESIGN: the handler records one); the column is what the figure reads.
    s.execute(update(Case).where(Case.id == c).values(trips=1))
    rated = oversight.rate_case(s, principal=office, case_id=c, level="dissatisfied", comment="太慢", now=at(7, 21))
    assert rated.rectification_id is not None
    oversight.answer_order(s, principal=staffing, order_id=rated.rectification_id, answer="已整改", now=at(7, 22))
    oversight.close_order(s, principal=supervisor, order_id=rated.rectification_id, now=at(7, 22, 3))

    for name, done in (("C", at(9, 30, 15, 30)), ("C2", at(9, 30, 16, 30))):
        cases[name] = c = b.submit(two_step, at(9, 24), "mobile")
        b.step(c, at(9, 28))
        b.step(c, at(9, 30, 8))
        b.conclude(two_step, c, done)

    cases["D"] = d = b.submit(two_step, at(7, 8), "api")
    service.suspend_case(s, principal=staffing, case_id=d, reason="等待专家意见", now=at(7, 9))

    cases["E"] = e = b.submit(two_step, at(7, 8))
    fire(s, e, "case_yellow", at(7, 15))
    fire(s, e, "case_red", at(7, 16))
    oversight.issue_supervision(s, principal=supervisor, case_id=e, content="请尽快办理", days=3, now=at(7, 20))

    cases["F"] = f = b.submit(two_step, at(7, 8), accept=False)
    service.reject_case(s, principal=staffing, case_id=f, reason="不属于本单位职责", now=at(7, 8))

    cases["H"] = h = b.submit(immediate, at(8, 3))
    b.step(h, at(8, 3, 3))
    b.conclude(immediate, h, at(8, 3, 4))

    cases["G"] = Build(s, other).submit(elsewhere, at(7, 8))
    session.flush()
    return Quarter(city, other, two_step, immediate, cases, supervisor, _grant(s, other, "supervisor", "region"),
                   reform)


@pytest.fixture
def quarter(session: Session) -> Quarter:
    return build_quarter(session)


def orders_of(session: Session, case_id: int) -> list[OversightOrder]:
    return list(session.scalars(select(OversightOrder).where(OversightOrder.case_id == case_id)))


ONE_DAY = timedelta(days=1)
