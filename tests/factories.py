"""Factories for the directory and catalog (engine and case state are built through real operations)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from xietong.catalog import service as catalog
from xietong.catalog.models import LocalMatter
from xietong.directory.models import Membership, Person, Post, Region, Unit
from xietong.security.models import RoleGrant
from xietong.security.principal import Principal, load_principal

_ids = itertools.count(1)
POSTS = {"clerk": "经办人", "section_chief": "科室负责人", "leader_in_charge": "分管领导", "head": "主要负责人"}
FUNCTIONS = {
    "finance": "财政局",
    "hr_social": "人力社保局",
    "big_data": "大数据局",
    "staffing": "编办",
    "office": "办公室",
}


@dataclass
class City:
    """A small region with one unit per function, each with posts and people holding them."""

    region: Region
    units: dict[str, Unit]
    people: dict[str, Person] = field(default_factory=dict)

    def person(self, function: str, post: str, n: int = 0) -> Person:
        return self.people[f"{function}.{post}.{n}"]

    def principal(self, session: Session, function: str, post: str = "clerk", n: int = 0) -> Principal:
        return load_principal(session, self.person(function, post, n).id)


def make_city(session: Session, *, code: str | None = None, holders: int = 2) -> City:
    n = next(_ids)
    region = Region(code=code or f"99{n:04d}", name=f"测试县{n}", level="county")
    session.add(region)
    session.flush()
    city = City(region=region, units={})
    for function, name in FUNCTIONS.items():
        unit = Unit(
            code=f"{region.code}.{function}",
            region_id=region.id,
            name=f"{region.name}{name}",
            short_name=name,
            function=function,
        )
        session.add(unit)
        session.flush()
        unit.path = f"/{unit.id}/"
        city.units[function] = unit
        for post_code, post_name in POSTS.items():
            post = Post(unit_id=unit.id, code=post_code, name=post_name)
            session.add(post)
            session.flush()
            for i in range(holders):
                key = f"{function}.{post_code}.{i}"
                person = Person(
                    employee_code=f"E{region.code}{function[:3]}{post_code[:3]}{i}",
                    username=f"u{region.code}_{key}",
                    name=f"{name}{post_name}{i}",
                )
                session.add(person)
                session.flush()
                session.add(Membership(person_id=person.id, unit_id=unit.id, post_id=post.id, is_primary=True))
                session.add(
                    RoleGrant(person_id=person.id, role="handler", scope_kind="unit_subtree", scope_unit_id=unit.id)
                )
                city.people[key] = person
    session.flush()
    return city


TEXT_FORM: dict[str, Any] = {
    "schema": "xietong.form/1",
    "fields": [
        {"key": "title", "label": "申请事由", "type": "text", "required": True, "min_length": 2, "max_length": 200},
        {"key": "amount", "label": "金额（万元）", "type": "number", "required": False, "min": 0},
    ],
}


def post_rule(function: str, post: str = "section_chief") -> dict[str, Any]:
    return {"rule": "post", "unit": {"ref": "function", "function": function}, "post": post}


def linear_process(*steps: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """start → steps in order → end."""
    nodes = [{"id": "start", "type": "start"}]
    nodes += [{"id": sid, "type": "user_task", "name": sid, "assign": assign} for sid, assign in steps]
    nodes.append({"id": "end", "type": "end"})
    ids = [n["id"] for n in nodes]
    flows = [{"id": f"f{i}", "from": a, "to": b} for i, (a, b) in enumerate(itertools.pairwise(ids))]
    return {"schema": "xietong.process/1", "nodes": nodes, "flows": flows}


def joint_approval_process(reviewers: tuple[str, ...] = ("finance", "hr_social", "big_data")) -> dict[str, Any]:
    """The reference process: accept → parallel reviews → gateway → approve → end (else back to accept)."""
    nodes: list[dict[str, Any]] = [
        {"id": "start", "type": "start"},
        {
            "id": "accept",
            "type": "user_task",
            "name": "受理审查",
            "assign": {"rule": "post", "unit": {"ref": "handling_unit"}, "post": "clerk"},
        },
        {"id": "split", "type": "parallel"},
        *({"id": f"review_{f}", "type": "user_task", "name": f"{f}审查", "assign": post_rule(f)} for f in reviewers),
        {"id": "join", "type": "parallel"},
        {"id": "gw", "type": "exclusive"},
        {
            "id": "approve",
            "type": "user_task",
            "name": "审批",
            "assign": {"rule": "post", "unit": {"ref": "handling_unit"}, "post": "leader_in_charge"},
        },
        {"id": "end", "type": "end"},
    ]
    flows = [{"id": "f_start", "from": "start", "to": "accept"}, {"id": "f_accept", "from": "accept", "to": "split"}]
    for f in reviewers:
        flows += [
            {"id": f"f_in_{f}", "from": "split", "to": f"review_{f}"},
            {"id": f"f_out_{f}", "from": f"review_{f}", "to": "join"},
        ]
    flows += [
        {"id": "f_join", "from": "join", "to": "gw"},
        {"id": "f_yes", "from": "gw", "to": "approve", "condition": "approved"},
        {"id": "f_no", "from": "gw", "to": "accept", "default": True},
        {"id": "f_end", "from": "approve", "to": "end"},
    ]
    return {"schema": "xietong.process/1", "name": "联合审批", "nodes": nodes, "flows": flows}


def publish_matter(
    session: Session,
    city: City,
    process: dict[str, Any],
    *,
    handling: str = "staffing",
    form: dict[str, Any] | None = None,
    materials: list[Any] | None = None,
    limit: int = 5,
    kind: str = "promised",
) -> LocalMatter:
    n = next(_ids)
    base = catalog.create_base_matter(
        session,
        code=f"T-{n:05d}",
        name=f"测试事项{n}",
        kind=kind,
        legal_limit_days=max(limit, 10) if kind == "promised" else 0,
    )
    local = catalog.create_local_matter(
        session, base=base, region_id=city.region.id, handling_unit_id=city.units[handling].id
    )
    version = catalog.draft_version(
        session,
        local=local,
        form_schema=form or TEXT_FORM,
        materials=materials or [],
        process=process,
        promised_limit_days=limit if kind == "promised" else 0,
    )
    catalog.publish_version(session, version_id=version.id)
    return local


# -- processes from block trees (random processes in tests/cases/test_properties.py) ------------------


@dataclass(frozen=True)
class Step:
    """A user task. ``assign`` is abstract, so a tree works in every city:
    ``("post", unit ref, post)``, ``("posts", functions, post)``, ``("people", ((function, post, n), …))``
    or ``("applicant_leader",)``; a unit ref is ``("function", f)``, ``("handling_unit",)`` or
    ``("applicant_unit",)``. ``multi`` is the schema's multi-instance block."""

    assign: tuple[Any, ...]
    multi: dict[str, Any] | None = None


@dataclass(frozen=True)
class Chain:
    """Blocks one after the other."""

    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Parallel:
    """A parallel split into these branches and their join."""

    branches: tuple[Any, ...]


@dataclass(frozen=True)
class Choice:
    """An exclusive gateway: ``then`` when ``condition`` holds, else ``otherwise`` (None: skip ahead)."""

    condition: str
    then: Any
    otherwise: Any | None


@dataclass(frozen=True)
class Loop:
    """``body``, then back to its start until ``condition`` holds."""

    body: Any
    condition: str


Stub = tuple[str, dict[str, Any]]  # a flow still to connect: its source node and extra attributes


@dataclass
class ProcessBuilder:
    """Turns a block tree into a ``xietong.process/1`` document for one city: start → tree → end."""

    city: City
    nodes: list[dict[str, Any]] = field(default_factory=list)
    flows: list[dict[str, Any]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=itertools.count)

    def document(self, top: Any) -> dict[str, Any]:
        self.nodes.append({"id": "start", "type": "start"})
        entry, stubs = self.block(top)
        self.connect([("start", {})], entry)
        self.nodes.append({"id": "end", "type": "end"})
        self.connect(stubs, "end")
        return {"schema": "xietong.process/1", "name": "积木流程", "nodes": self.nodes, "flows": self.flows}

    def node(self, prefix: str, type: str, **values: Any) -> str:
        node_id = f"{prefix}{next(self.ids)}"
        self.nodes.append({"id": node_id, "type": type, "name": node_id, **values})
        return node_id

    def connect(self, stubs: list[Stub], target: str) -> None:
        for source, extra in stubs:
            self.flows.append({"id": f"f{next(self.ids)}", "from": source, "to": target, **extra})

    def single_entry(self, entry: str) -> str:
        """A parallel split takes exactly one incoming flow: put a pass-through gateway before it."""
        if not entry.startswith("split"):
            return entry
        merge = self.node("merge", "exclusive")
        self.connect([(merge, {"default": True})], entry)
        return merge

    def block(self, block: Any) -> tuple[str, list[Stub]]:
        """Add ``block``; returns its entry node and the flows leaving it, still to connect."""
        if isinstance(block, Step):
            extra = {"multi": block.multi} if block.multi else {}
            task = self.node("task", "user_task", assign=self.assign(block.assign), **extra)
            return task, [(task, {})]
        if isinstance(block, Chain):
            entry, stubs = self.block(block.parts[0])
            for part in block.parts[1:]:
                part_entry, part_stubs = self.block(part)
                self.connect(stubs, self.single_entry(part_entry) if len(stubs) > 1 else part_entry)
                stubs = part_stubs
            return entry, stubs
        if isinstance(block, Parallel):
            split, join = self.node("split", "parallel"), self.node("join", "parallel")
            for branch in block.branches:
                branch_entry, branch_stubs = self.block(branch)
                self.connect([(split, {})], branch_entry)
                self.connect(branch_stubs, join)
            return split, [(join, {})]
        if isinstance(block, Choice):
            return self._choice(block)
        assert isinstance(block, Loop)
        body_entry, body_stubs = self.block(block.body)
        entry = self.single_entry(body_entry)
        gateway = self.node("again", "exclusive")
        self.connect(body_stubs, gateway)
        self.connect([(gateway, {"default": True})], entry)
        return entry, [(gateway, {"condition": block.condition})]

    def _choice(self, block: Choice) -> tuple[str, list[Stub]]:
        gateway = self.node("choice", "exclusive")
        then_entry, stubs = self.block(block.then)
        self.connect([(gateway, {"condition": block.condition})], then_entry)
        if block.otherwise is None:
            return gateway, [*stubs, (gateway, {"default": True})]
        other_entry, other_stubs = self.block(block.otherwise)
        self.connect([(gateway, {"default": True})], other_entry)
        return gateway, stubs + other_stubs

    def assign(self, spec: tuple[Any, ...]) -> dict[str, Any]:
        kind = spec[0]
        if kind == "post":
            return {"rule": "post", "unit": _unit_ref(spec[1]), "post": spec[2]}
        if kind == "posts":
            return {"rule": "posts", "units": [_unit_ref(("function", f)) for f in spec[1]], "post": spec[2]}
        if kind == "people":
            return {"rule": "people", "people": [self.city.person(*key).employee_code for key in spec[1]]}
        return {"rule": "applicant_leader"}


def _unit_ref(ref: tuple[str, ...]) -> dict[str, str]:
    return {"ref": "function", "function": ref[1]} if ref[0] == "function" else {"ref": ref[0]}
