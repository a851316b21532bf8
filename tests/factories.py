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
