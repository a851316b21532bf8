"""When demo cases happen: office-hours arithmetic on the working-day calendar, and the plan of every case.

A :class:`Plan` says which local matter a case is of, who applies, through which channel, when, and
its *fate* — how its history goes. Most cases are ``normal``: they run until the reference instant
cuts them off, so recent ones are naturally still open. Quotas of special fates make sure every
status appears even in a small build: withdrawn, rejected, awaiting acceptance, a resolved or an
open 补正 (supplement), ending 不予 (denied), and open cases past due (red card) or about to be (yellow).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from xietong.clock.calendar import WorkCalendar
from xietong.demo.city import DEMO_LOGINS, Person
from xietong.demo.seed import PublishedMatter

OPEN_MINUTE = 8 * 60 + 30  # the office opens at 08:30 local time
DAY_MINUTES = 9 * 60  # and closes at 17:30
HISTORY_DAYS = 730
FUTURE_DAYS = 400  # working days numbered after the reference date
CHANNELS = ("web", "mobile", "api", "counter", "oa")
CHANNEL_WEIGHTS = (55, 20, 5, 10, 10)

#: fate -> (share of all cases, minimum count): the quotas of the special fates.
QUOTAS: dict[str, tuple[float, int]] = {
    "withdrawn": (0.02, 2),
    "rejected": (0.03, 2),
    "pending": (0.004, 2),  # submitted, not yet accepted
    "supplement_open": (0.003, 2),  # waiting for the applicant's 补正
    "supplement": (0.04, 2),  # a 补正 episode, resolved
    "stuck": (0.01, 3),  # open and past due: red card
    "due_soon": (0.006, 3),  # open and due within a working day: yellow card
    "deny": (0.07, 3),  # the decisive step says no: 不予
}
OPEN_FATES = frozenset({"pending", "supplement_open", "stuck", "due_soon"})
_DEMO_UNITS = frozenset(unit for unit, post, _ in DEMO_LOGINS.values() if post)


class OfficeClock:
    """Moves instants through office hours (08:30–17:30 local) on the calendar's working days.

    Working days from two years before the reference date to a year after it are numbered once, so
    moving an instant is arithmetic on (working-day number, minute); beyond that range lies "never".
    """

    def __init__(self, calendar: WorkCalendar, as_of: datetime, days: int = HISTORY_DAYS) -> None:
        self.calendar = calendar
        self.zone = calendar.zone
        self.as_of = as_of
        self.never = as_of + timedelta(days=3650)
        today = calendar.local_date(as_of)
        first = today - timedelta(days=days)
        span = [first + timedelta(days=i) for i in range(days + FUTURE_DAYS)]
        self.days = [d for d in span if calendar.is_working_day(d)]
        self._index = {d: i for i, d in enumerate(self.days)}
        self._ordinals = [d.toordinal() for d in self.days]
        self.workdays = [d for d in self.days if d < today]  # the history's working days

    def at(self, day: date, minute: float) -> datetime:
        """The UTC instant ``minute`` minutes into the office day ``day`` (whole seconds)."""
        local = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(seconds=int((OPEN_MINUTE + minute) * 60))
        return local.astimezone(UTC)

    def advance(self, moment: datetime, minutes: float) -> datetime:
        """``moment`` plus ``minutes`` (at least one) of office time; time outside office hours does not count."""
        local = moment.astimezone(self.zone)
        day = local.date()
        offset = local.hour * 60 + local.minute + local.second / 60 - OPEN_MINUTE
        index = self._index.get(day)
        if index is None:
            index, offset = bisect.bisect_right(self._ordinals, day.toordinal()), 0.0
        elif offset >= DAY_MINUTES:
            index, offset = index + 1, 0.0
        offset = max(offset, 0.0) + max(minutes, 1.0)
        extra = math.ceil(offset / DAY_MINUTES) - 1
        index, offset = index + extra, offset - extra * DAY_MINUTES
        return self.at(self.days[index], offset) if index < len(self.days) else self.never

    def days_before(self, count: int, rng: random.Random, latest: float = DAY_MINUTES - 1) -> datetime:
        """A random office instant (before minute ``latest``) ``count`` working days before the reference day."""
        day = self.workdays[max(0, len(self.workdays) - count)]
        return self.at(day, rng.uniform(0, latest))


@dataclass
class Plan:
    """One case to generate."""

    matter: PublishedMatter
    applicant: Person
    channel: str
    submitted_at: datetime
    fate: str = "normal"
    seed: int = 0
    hang_at: int = 0  # for stuck and due_soon: the decision that never comes


@dataclass
class People:
    """The directory's people as the plans need them."""

    clerks: dict[str, list[Person]]  # department key -> clerks (demo log-ins listed several times)
    departments: dict[str, list[str]]  # region code -> department keys


def people_index(people: Sequence[Person], departments: dict[str, list[str]]) -> People:
    """Index clerks by department; a demo log-in clerk is listed four times, so they apply more often."""
    clerks: dict[str, list[Person]] = {}
    for person in people:
        if person.post_code == "clerk":
            clerks.setdefault(person.unit_key, []).extend([person] * (4 if person.username in DEMO_LOGINS else 1))
    return People(clerks, departments)


def make_plans(
    matters: Sequence[PublishedMatter], people: People, clock: OfficeClock, count: int, rng: random.Random
) -> list[Plan]:
    """``count`` plans in submission order, special fates by quota, the rest spread over two years."""
    weights = [_popularity(m, rng) for m in matters]
    cumulative = list(_accumulate(weights))
    day_weights = list(_accumulate([1.0 + 0.6 * i / len(clock.workdays) for i in range(len(clock.workdays))]))
    plans = []
    for _ in range(count):
        matter = matters[_pick(cumulative, rng)]
        day = clock.workdays[_pick(day_weights, rng)]
        submitted = clock.at(day, rng.uniform(0, DAY_MINUTES - 1))
        plans.append(_plan(matter, people, submitted, rng))
    _assign_fates(plans, matters, people, clock, rng)
    plans.sort(key=lambda p: (p.submitted_at, p.matter.local_id))
    return plans


def _plan(matter: PublishedMatter, people: People, submitted: datetime, rng: random.Random) -> Plan:
    channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
    return Plan(matter, _applicant(matter, people, rng), channel, submitted, seed=rng.getrandbits(48))


def _assign_fates(
    plans: list[Plan], matters: Sequence[PublishedMatter], people: People, clock: OfficeClock, rng: random.Random
) -> None:
    order = list(range(len(plans)))
    rng.shuffle(order)
    promised = [m for m in matters if m.kind == "promised" and m.promised_limit_days > 0]
    showcase = [m for m in promised if m.unit_key in _DEMO_UNITS] or promised
    for fate, (share, minimum) in QUOTAS.items():
        for i in range(min(len(order), max(minimum, round(share * len(plans))))):
            index = order.pop()
            plans[index].fate = fate
            if fate in OPEN_FATES and promised:
                matter = rng.choice(showcase if i % 2 == 0 else promised)
                fresh = _plan(matter, people, plans[index].submitted_at, rng)
                fresh.fate, fresh.hang_at = fate, 0 if i % 2 == 0 else rng.randint(0, 1)
                fresh.submitted_at = _open_fate_time(fresh, clock, rng)
                plans[index] = fresh


def _open_fate_time(plan: Plan, clock: OfficeClock, rng: random.Random) -> datetime:
    """When a case of an open fate was submitted, so that it is open (and red or yellow) at the reference."""
    limit = plan.matter.promised_limit_days
    if plan.fate == "pending":
        return clock.days_before(1, rng)
    if plan.fate == "supplement_open":
        return clock.days_before(rng.randint(2, max(2, min(limit, 6))), rng, latest=DAY_MINUTES / 2)
    if plan.fate == "stuck":
        return clock.days_before(limit + rng.randint(3, 15), rng)
    return clock.days_before(limit, rng, latest=DAY_MINUTES / 2)  # due_soon: accepted that day, due by tomorrow


def _popularity(matter: PublishedMatter, rng: random.Random) -> float:
    weight = rng.lognormvariate(0, 0.8)
    if matter.matter.level == "city":
        weight *= 6
    return weight * (1.5 if matter.kind == "immediate" else 1.0)


def _accumulate(weights: list[float]) -> list[float]:
    total, result = 0.0, []
    for w in weights:
        total += w
        result.append(total)
    return result


def _pick(cumulative: list[float], rng: random.Random) -> int:
    return min(len(cumulative) - 1, bisect.bisect(cumulative, rng.random() * cumulative[-1]))


def _applicant(matter: PublishedMatter, people: People, rng: random.Random) -> Person:
    """A clerk of another department of the matter's region, of a function the matter serves if possible."""
    departments = [d for d in people.departments[matter.region_code] if d != matter.unit_key and d in people.clerks]
    if not departments:  # a region with a single department: borrow an applicant from anywhere
        departments = [d for d in people.clerks if d != matter.unit_key]
    wanted = matter.matter.applicant_functions
    if wanted != ("any",):
        fitting = [d for d in departments if d.split(".", 1)[1] in wanted]
        departments = fitting or departments
    return rng.choice(people.clerks[rng.choice(departments)])
