"""The demo city: regions, units (departments and their offices), posts and people.

:func:`build_city` is a pure, deterministic data builder (``random.Random(seed)``).

Keys and codes:

* region codes are GB/T 2260 codes, except 丽水经济技术开发区 (``331103``, ``code_kind`` "platform");
* a department's key is ``"<region code>.<function>"`` (``331100.finance``); its internal offices
  are ``"<department key>.o1"`` …, with ``function`` None and ``uscc`` None;
* departments carry a 统一社会信用代码 ``11<division><organisation code><check>`` whose
  organisation code (GB 11714) and final check character (GB 32100-2015, computed by
  :func:`xietong.directory.schemas.uscc_check_char`) are both correct;
  the zone's bodies are registered under the city's division code 331100;
* people have employee codes ``E<region code><4 digits>``; generated people log in with the
  lowercased employee code, the named demo log-ins (:data:`DEMO_LOGINS`) with fixed names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from xietong.demo import names as n
from xietong.directory.schemas import uscc_check_char

__all__ = [
    "DEMO_LOGINS",
    "POST_CODES",
    "ROLES",
    "SCOPE_KINDS",
    "City",
    "Person",
    "Post",
    "Region",
    "RoleGrant",
    "Unit",
    "build_city",
    "org_code_check",
]

ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

POST_CODES: tuple[str, ...] = tuple(code for code, _ in n.POSTS)
ROLES = frozenset(
    {"clerk", "handler", "unit_leader", "supervisor", "reform_office", "system_admin", "security_admin", "audit_admin"}
)
SCOPE_KINDS = frozenset({"unit_subtree", "region", "all"})

#: Named demo log-ins: username -> (department key, post code or None, description).
DEMO_LOGINS: dict[str, tuple[str, str | None, str]] = {
    "admin": ("331100.big_data", None, "系统管理员"),
    "secadmin": ("331100.big_data", None, "安全管理员"),
    "auditor": ("331100.big_data", None, "审计管理员"),
    "reform": ("331100.reform_office", "section_chief", "市委改革办督办（全市）"),
    "lishui_fin_clerk": ("331100.finance", "clerk", "市财政局经办人"),
    "lishui_fin_chief": ("331100.finance", "section_chief", "市财政局科室负责人"),
    "lishui_fin_leader": ("331100.finance", "leader_in_charge", "市财政局分管领导"),
    "lishui_bb_clerk": ("331100.staffing", "clerk", "市委编办经办人"),
    "lishui_bb_chief": ("331100.staffing", "section_chief", "市委编办科室负责人"),
    "lishui_hr_clerk": ("331100.hr_social", "clerk", "市人力社保局经办人"),
    "lishui_bd_clerk": ("331100.big_data", "clerk", "市大数据局经办人"),
    "qingtian_fin_clerk": ("331121.finance", "clerk", "青田县财政局经办人"),
    "qingtian_supervisor": ("331121.reform_office", "section_chief", "青田县督办（全县）"),
}
_ADMIN_ROLES = {"admin": "system_admin", "secadmin": "security_admin", "auditor": "audit_admin"}


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A region: the city (市本级), a county-level division or the development zone."""

    code: str
    name: str
    short_name: str
    level: str  # "city" | "county"
    code_kind: str  # "division" | "platform"
    parent_code: str | None


@dataclass(frozen=True)
class Unit:
    """A department (``parent_key`` None) or one of its internal offices."""

    key: str
    name: str
    short_name: str
    region_code: str
    function: str | None  # None for internal offices
    uscc: str | None  # None for internal offices
    parent_key: str | None = None
    kind: str = "department"  # "department" | "office"
    sort: int = 0


@dataclass(frozen=True)
class Post:
    """A post every department has."""

    code: str
    name: str
    rank: int


class RoleGrant(NamedTuple):
    """A role with its scope: ``unit_subtree`` + unit key, ``region`` + region code, ``all`` + None."""

    role: str
    scope_kind: str
    scope_ref: str | None


@dataclass(frozen=True)
class Person:
    """A person holding one post in one department (``office_key``: the office they sit in)."""

    key: str
    name: str
    employee_code: str
    username: str
    phone: str
    unit_key: str
    post_code: str | None  # None for the three administrators
    roles: tuple[RoleGrant, ...]
    office_key: str | None = None
    title: str = ""

    @property
    def masked_phone(self) -> str:
        """The phone number as shown in lists: ``138****1234``."""
        return f"{self.phone[:3]}****{self.phone[-4:]}"


@dataclass(frozen=True)
class City:
    """The whole demo city; look-ups are built lazily."""

    regions: tuple[Region, ...]
    units: tuple[Unit, ...]
    posts: tuple[Post, ...]
    people: tuple[Person, ...]
    seed: int = 2026

    @cached_property
    def _units_by_key(self) -> dict[str, Unit]:
        return {u.key: u for u in self.units}

    @cached_property
    def _people_by_username(self) -> dict[str, Person]:
        return {p.username: p for p in self.people}

    @cached_property
    def functions_by_region(self) -> dict[str, frozenset[str]]:
        """Region code -> the functions of its departments."""
        result: dict[str, set[str]] = {r.code: set() for r in self.regions}
        for u in self.departments():
            assert u.function is not None
            result[u.region_code].add(u.function)
        return {code: frozenset(fs) for code, fs in result.items()}

    def region(self, code: str) -> Region:
        """The region with this code (KeyError if none)."""
        for r in self.regions:
            if r.code == code:
                return r
        raise KeyError(code)

    def unit(self, key: str) -> Unit:
        """The unit with this key (KeyError if none)."""
        return self._units_by_key[key]

    def departments(self, region_code: str | None = None) -> list[Unit]:
        """Departments, optionally of one region, in display order."""
        return [u for u in self.units if u.kind == "department" and region_code in (None, u.region_code)]

    def offices(self, department_key: str) -> list[Unit]:
        """The internal offices of a department."""
        return [u for u in self.units if u.parent_key == department_key]

    def department(self, region_code: str, function: str) -> Unit | None:
        """The department with this function in this region, or None."""
        return self._units_by_key.get(f"{region_code}.{function}")

    def person(self, username: str) -> Person:
        """The person with this username (KeyError if none)."""
        return self._people_by_username[username]

    def people_of(self, unit_key: str, post_code: str | None = None) -> list[Person]:
        """People of a department, optionally holding one post."""
        return [p for p in self.people if p.unit_key == unit_key and post_code in (None, p.post_code)]


# ---------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015) and organisation codes (GB 11714-1997)
# ---------------------------------------------------------------------------


def _char_value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    return ord(ch) - ord("A") + 10


def org_code_check(body: str) -> str:
    """Check character of an 8-character organisation-code body (GB 11714-1997)."""
    c = 11 - sum(_char_value(ch) * w for ch, w in zip(body, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def _make_uscc(division: str, serial: int) -> str:
    body = f"00{serial:06d}"
    first17 = f"11{division}{body}{org_code_check(body)}"
    return first17 + uscc_check_char(first17)


# ---------------------------------------------------------------------------
# Builder
# ---------------------------------------------------------------------------


def _region_functions(code: str) -> tuple[str, ...]:
    if code == n.CITY_CODE:
        return tuple(n.FUNCTIONS)
    if code == n.ZONE_CODE:
        return tuple(n.ZONE_UNITS)
    wanted = set(n.COUNTY_CORE) | set(n.COUNTY_EXTRA.get(code, ()))
    return tuple(f for f in n.FUNCTIONS if f in wanted)


def _department(row: n.RegionRow, function: str) -> tuple[str, str, tuple[str, ...]]:
    """(full name, short name, business offices) of a department."""
    if row.code == n.ZONE_CODE:
        return n.ZONE_UNITS[function]
    info = n.FUNCTIONS[function]
    full, short = info.city_name, info.city_short
    if row.level == "county":
        full, short = info.county_name or full, info.county_short or short
    values = {"r": row.name, "p": row.prefix, "s": row.short_name}
    return full.format(**values), short.format(**values), info.offices


class _NameMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.phones: set[str] = set()
        count = len(n.SURNAMES)
        self.weights = [1.0 / (1 + i / 6) for i in range(count)]

    def name(self, she: bool) -> str:
        while True:
            if she and self.rng.random() < 0.35:
                surname = self.rng.choice(n.SHE_SURNAMES)
            else:
                surname = self.rng.choices(n.SURNAMES, weights=self.weights)[0]
            size = 2 if self.rng.random() < 0.72 else 1
            given = "".join(self.rng.choice(n.GIVEN_CHARS) for _ in range(size))
            if given[0] != given[-1] or size == 1:
                full = surname + given
                if full not in self.used:
                    self.used.add(full)
                    return full

    def phone(self) -> str:
        while True:
            number = self.rng.choice(n.PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number


def _grants(dept: Unit, post: str | None) -> list[RoleGrant]:
    scope = ("unit_subtree", dept.key)
    if post in ("leader_in_charge", "head"):
        grants = [RoleGrant("unit_leader", *scope), RoleGrant("handler", *scope)]
    elif post is not None:
        grants = [RoleGrant("clerk", *scope), RoleGrant("handler", *scope)]
    else:
        grants = []
    senior = post in ("section_chief", "leader_in_charge", "head")
    if dept.function == "reform_office":
        if dept.region_code == n.CITY_CODE:
            grants.append(RoleGrant("reform_office", "all", None))
        if senior:
            grants.append(RoleGrant("supervisor", "region", dept.region_code))
    elif dept.region_code == n.ZONE_CODE and dept.function == "government_office" and senior:
        grants.append(RoleGrant("supervisor", "region", dept.region_code))
    return grants


def build_city(seed: int = 2026) -> City:
    """Build the demo city deterministically from ``seed``."""
    rng = random.Random(seed)
    regions = tuple(
        Region(r.code, r.name, r.short_name, r.level, r.code_kind, None if r.code == n.CITY_CODE else n.CITY_CODE)
        for r in n.REGIONS
    )
    posts = tuple(Post(code, name, rank) for rank, (code, name) in enumerate(n.POSTS, start=1))

    units: list[Unit] = []
    serials = rng.sample(range(250_000, 999_999), 400)
    sort = 0
    for row in n.REGIONS:
        division = n.CITY_CODE if row.code_kind == "platform" else row.code
        suffix = "处" if row.level == "city" else "科"
        for function in _region_functions(row.code):
            full, short, business = _department(row, function)
            key = f"{row.code}.{function}"
            sort += 1
            units.append(
                Unit(
                    key, full, short, row.code, function, _make_uscc(division, serials.pop()), None, "department", sort
                )
            )
            picked = business[: rng.randint(1, min(2, len(business)))]
            general = "综合" + suffix if full.endswith("办公室") else "办公室"
            for i, office in enumerate((general, *(b + suffix for b in picked)), start=1):
                sort += 1
                units.append(Unit(f"{key}.o{i}", full + office, office, row.code, None, None, key, "office", sort))

    maker = _NameMaker(rng)
    named = {(dept, post): user for user, (dept, post, _) in DEMO_LOGINS.items() if post}
    post_names = dict(n.POSTS)
    people: list[Person] = []
    seq: dict[str, int] = {}

    def add(dept: Unit, post: str | None, username: str | None, office: str | None, title: str) -> None:
        seq[dept.region_code] = seq.get(dept.region_code, 0) + 1
        code = f"E{dept.region_code}{seq[dept.region_code]:04d}"
        grants = _grants(dept, post)
        if username in _ADMIN_ROLES:
            grants = [RoleGrant(_ADMIN_ROLES[username], "all", None)]
        she = dept.region_code == "331127"
        people.append(
            Person(
                f"p.{code}",
                maker.name(she),
                code,
                username or code.lower(),
                maker.phone(),
                dept.key,
                post,
                tuple(grants),
                office,
                title,
            )
        )

    for dept in (u for u in units if u.kind == "department"):
        offices = [u.key for u in units if u.parent_key == dept.key]
        counts = {
            "clerk": rng.randint(1, 3),
            "section_chief": rng.randint(1, 2),
            "leader_in_charge": rng.randint(1, 2),
            "head": 1,
        }
        for post in POST_CODES:
            for i in range(counts[post]):
                username = named.get((dept.key, post)) if i == 0 else None
                seat = rng.choice(offices) if post in ("clerk", "section_chief") else None
                title = post_names[post]
                if username in DEMO_LOGINS:
                    title = DEMO_LOGINS[username][2]
                add(dept, post, username, seat, title)
    by_key = {u.key: u for u in units}
    for username in _ADMIN_ROLES:
        dept_key, _, title = DEMO_LOGINS[username]
        add(by_key[dept_key], None, username, None, title)
    return City(regions, tuple(units), posts, tuple(people), seed)
