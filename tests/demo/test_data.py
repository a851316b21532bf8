"""Tests of the demo city and catalogue data builders (pure data, no database)."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from typing import Any

import pytest
from pydantic_core import PydanticCustomError

from xietong.demo import names
from xietong.demo.catalogue import (
    PHONE_PATTERN,
    TEMPLATES,
    Catalogue,
    build_catalogue,
    process_functions,
)
from xietong.demo.city import (
    DEMO_LOGINS,
    POST_CODES,
    ROLES,
    SCOPE_KINDS,
    City,
    build_city,
    org_code_check,
)
from xietong.directory.schemas import check_uscc

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MATERIAL_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
MATTER_CODE_RE = re.compile(r"^JG-[A-Z]{2}-(\d{4})$")
FORMATS = {"pdf", "ofd", "doc", "docx", "xls", "xlsx", "jpg", "png", "zip", "txt"}
FIELD_KEYS = {
    "text": {"key", "label", "type", "required", "min_length", "max_length", "pattern", "multiline"},
    "number": {"key", "label", "type", "required", "min", "max", "integer", "unit"},
    "date": {"key", "label", "type", "required", "min", "max"},
    "select": {"key", "label", "type", "required", "multiple", "options"},
    "file": {"key", "label", "type", "required", "material"},
    "table": {"key", "label", "type", "required", "min_rows", "max_rows", "columns"},
}
NODE_KEYS = {"id", "type", "name", "x", "y", "limit_days", "assign", "multi"}
FORM_REF_RE = re.compile(r"\bform\.([a-z][a-z0-9_]*)")
NAME_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\b")


@cache
def city() -> City:
    return build_city()


@cache
def catalogue() -> Catalogue:
    return build_catalogue(city())


# ---------------------------------------------------------------------------
# City
# ---------------------------------------------------------------------------


def test_regions() -> None:
    regions = {r.code: r for r in city().regions}
    assert regions["331100"].level == "city" and regions["331100"].name == "丽水市"
    counties = {"331102", "331121", "331122", "331123", "331124", "331125", "331126", "331127", "331181"}
    assert {c for c, r in regions.items() if r.code_kind == "division" and r.level == "county"} == counties
    zone = regions["331103"]
    assert (zone.name, zone.code_kind, zone.level) == ("丽水经济技术开发区", "platform", "county")
    assert regions["331127"].name == "景宁畲族自治县"


def test_departments_per_region() -> None:
    c = city()
    assert len(c.departments("331100")) >= 32
    for region in c.regions:
        count = len(c.departments(region.code))
        if region.code_kind == "platform":
            assert 8 <= count <= 14
        elif region.level == "county":
            assert 18 <= count <= 25, region.name
    finance = c.department("331121", "finance")
    assert finance is not None and finance.name == "青田县财政局"
    assert c.unit("331102.finance").name == "莲都区财政局"
    assert c.unit("331100.staffing").short_name == "市委编办"
    assert c.unit("331103.finance").name == "丽水经济技术开发区管委会财政局"
    functions = Counter((u.region_code, u.function) for u in c.departments())
    assert max(functions.values()) == 1


def test_offices() -> None:
    c = city()
    keys = {u.key for u in c.units}
    for dept in c.departments():
        assert dept.key == f"{dept.region_code}.{dept.function}"
        offices = c.offices(dept.key)
        assert 2 <= len(offices) <= 3, dept.key
        for office in offices:
            assert office.parent_key in keys and office.function is None and office.uscc is None
            assert office.kind == "office" and office.region_code == dept.region_code
            assert office.name.startswith(dept.name)


def is_valid_uscc(code: str) -> bool:
    """The directory's own rule (the demo no longer has a copy of it)."""
    try:
        return check_uscc(code) == code
    except PydanticCustomError:
        return False


def test_uscc_algorithm() -> None:
    assert org_code_check("M000100Y") == "4"
    assert is_valid_uscc("91350100M000100Y43")
    assert not is_valid_uscc("91350100M000100Y44")


def test_unit_uscc() -> None:
    c = city()
    codes = [u.uscc for u in c.departments()]
    assert all(code is not None for code in codes)
    assert len(set(codes)) == len(codes)
    for dept in c.departments():
        assert dept.uscc is not None and is_valid_uscc(dept.uscc), dept.uscc
        division = "331100" if dept.region_code == "331103" else dept.region_code
        assert dept.uscc.startswith("11" + division)
        assert org_code_check(dept.uscc[8:16]) == dept.uscc[16]


def test_unique_identifiers() -> None:
    c = city()
    for values in (
        [u.key for u in c.units],
        [p.key for p in c.people],
        [p.username for p in c.people],
        [p.employee_code for p in c.people],
        [p.phone for p in c.people],
    ):
        assert len(set(values)) == len(values)


def test_people() -> None:
    c = city()
    assert len(c.people) >= 1300
    units = {u.key: u for u in c.units}
    regions = {r.code for r in c.regions}
    for dept in c.departments():
        posts = Counter(p.post_code for p in c.people_of(dept.key))
        assert all(posts[post] >= 1 for post in POST_CODES), dept.key
    for person in c.people:
        assert re.fullmatch(r"E\d{10}", person.employee_code)
        assert re.fullmatch(r"1[3-9]\d{9}", person.phone)
        assert re.fullmatch(PHONE_PATTERN, person.phone)
        assert 2 <= len(person.name) <= 3
        assert units[person.unit_key].kind == "department"
        assert person.office_key is None or units[person.office_key].parent_key == person.unit_key
        assert person.post_code in (*POST_CODES, None)
        assert person.roles
        for role, scope_kind, scope_ref in person.roles:
            assert role in ROLES and scope_kind in SCOPE_KINDS
            if scope_kind == "unit_subtree":
                assert scope_ref in units
            elif scope_kind == "region":
                assert scope_ref in regions
            else:
                assert scope_ref is None


def test_demo_logins() -> None:
    c = city()
    for username, (unit_key, post, _) in DEMO_LOGINS.items():
        person = c.person(username)
        assert person.unit_key == unit_key and person.post_code == post
    role_of = {u: {g.role for g in c.person(u).roles} for u in DEMO_LOGINS}
    assert role_of["admin"] == {"system_admin"}
    assert role_of["secadmin"] == {"security_admin"}
    assert role_of["auditor"] == {"audit_admin"}
    assert ("reform_office", "all", None) in c.person("reform").roles
    assert ("supervisor", "region", "331121") in c.person("qingtian_supervisor").roles
    assert ("unit_leader", "unit_subtree", "331100.finance") in c.person("lishui_fin_leader").roles
    for clerk in ("lishui_fin_clerk", "lishui_bb_clerk", "lishui_hr_clerk", "lishui_bd_clerk", "qingtian_fin_clerk"):
        person = c.person(clerk)
        assert {("clerk", "unit_subtree", person.unit_key), ("handler", "unit_subtree", person.unit_key)} <= set(
            person.roles
        )
    assert c.person("qingtian_fin_clerk").unit_key == "331121.finance"


def test_determinism() -> None:
    assert build_city() == city()
    assert build_catalogue(build_city()) == catalogue()
    assert build_city(7).people != city().people


# ---------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------


def test_catalogue_counts() -> None:
    cat = catalogue()
    assert len(cat.city_matters()) >= 250
    assert len(cat.county_matters()) >= 330
    assert 2000 <= len(cat.implementations("county")) <= 3200
    assert 2000 <= len(cat.implementations()) <= 3200
    several = [m for m in cat.county_matters() if len(m.implementations) >= 3]
    assert len(several) > len(cat.county_matters()) * 0.6
    immediate = sum(m.kind == "immediate" for m in cat.matters) / len(cat.matters)
    assert 0.1 <= immediate <= 0.25


def test_matter_codes_and_names() -> None:
    cat = catalogue()
    codes = [m.code for m in cat.matters]
    assert len(set(codes)) == len(codes)
    assert len({m.name for m in cat.matters}) == len(cat.matters)
    for m in cat.matters:
        match = MATTER_CODE_RE.fullmatch(m.code)
        assert match, m.code
        assert m.code.split("-")[1] == names.FUNCTIONS[m.function].abbr
        assert (int(match.group(1)) < 5000) == (m.level == "city")
        assert m.applicant_functions == ("any",) or set(m.applicant_functions) <= set(names.FUNCTIONS)


def test_limits() -> None:
    for m in catalogue().matters:
        if m.kind == "immediate":
            assert m.legal_limit_days == 0 and m.promised_limit_days == 0
        else:
            assert m.kind == "promised"
            assert 5 <= m.legal_limit_days <= 20
            assert 1 <= m.promised_limit_days <= m.legal_limit_days
        for impl in m.implementations:
            assert impl.promised_limit_days <= m.promised_limit_days
            assert (impl.promised_limit_days == 0) == (m.kind == "immediate")


def test_implementations() -> None:
    c, cat = city(), catalogue()
    county_codes = {r.code for r in c.regions if r.level == "county"}
    impl_codes = [i.code for i in cat.implementations()]
    assert len(set(impl_codes)) == len(impl_codes)
    for m in cat.matters:
        assert m.implementations
        regions = [i.region_code for i in m.implementations]
        assert len(set(regions)) == len(regions)
        if m.level == "city":
            assert regions == ["331100"]
        else:
            assert set(regions) <= county_codes
        for impl in m.implementations:
            unit = c.unit(impl.unit_key)
            assert unit.region_code == impl.region_code and unit.function == m.function
            assert impl.matter_code == m.code


def _check_field(field: dict[str, Any], *, column: bool = False) -> None:
    kind = field["type"]
    assert set(field) == FIELD_KEYS[kind], field
    assert KEY_RE.fullmatch(field["key"]) and field["label"]
    assert isinstance(field["required"], bool)
    if column:
        assert kind in ("text", "number", "date", "select")
    if kind == "text":
        assert isinstance(field["multiline"], bool)
        for bound in ("min_length", "max_length"):
            assert field[bound] is None or isinstance(field[bound], int)
        if field["pattern"] is not None:
            re.compile(field["pattern"])
    elif kind == "number":
        assert isinstance(field["integer"], bool)
    elif kind == "date":
        assert field["max"] is None
        assert field["min"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", field["min"])
    elif kind == "select":
        assert isinstance(field["multiple"], bool) and field["options"]
        values = [o["value"] for o in field["options"]]
        assert len(set(values)) == len(values)
        assert all(set(o) == {"value", "label"} for o in field["options"])
    elif kind == "table":
        assert 0 <= field["min_rows"] <= field["max_rows"]
        column_keys = [col["key"] for col in field["columns"]]
        assert column_keys and len(set(column_keys)) == len(column_keys)
        for col in field["columns"]:
            _check_field(col, column=True)


def test_forms_and_materials() -> None:
    for m in catalogue().matters:
        assert 1 <= len(m.materials) <= 5
        codes = [mat["code"] for mat in m.materials]
        assert len(set(codes)) == len(codes)
        for mat in m.materials:
            assert set(mat) - {"shared_kind"} == {"code", "name", "required", "formats", "max_size_mb", "note"}
            assert MATERIAL_RE.fullmatch(mat["code"]) and mat["name"]
            assert mat["formats"] and set(mat["formats"]) <= FORMATS
            assert isinstance(mat["max_size_mb"], int) and isinstance(mat["required"], bool)
        assert set(m.form) == {"schema", "fields"} and m.form["schema"] == "xietong.form/1"
        fields = m.form["fields"]
        assert 3 <= len(fields) <= 10
        first = fields[0]
        assert (first["key"], first["label"], first["type"], first["required"]) == ("title", "申请事由", "text", True)
        assert (first["min_length"], first["max_length"]) == (2, 200)
        keys = [f["key"] for f in fields]
        assert len(set(keys)) == len(keys)
        for field in fields:
            _check_field(field)
            if field["type"] == "file":
                assert field["material"] in codes


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


def _process_problems(body: dict[str, Any]) -> list[str]:
    """Structural problems of a ``xietong.process/1`` definition (empty when valid)."""
    problems: list[str] = []
    if set(body) != {"schema", "name", "nodes", "flows", "extensions"}:
        problems.append("top-level keys")
    if body.get("schema") != "xietong.process/1":
        problems.append("schema")
    nodes = {node["id"]: node for node in body["nodes"]}
    if len(nodes) != len(body["nodes"]):
        problems.append("duplicate node ids")
    if len({(node["x"], node["y"]) for node in body["nodes"]}) != len(nodes):
        problems.append("overlapping nodes")
    flow_ids = [flow["id"] for flow in body["flows"]]
    if len(set(flow_ids)) != len(flow_ids):
        problems.append("duplicate flow ids")
    out: dict[str, list[dict[str, Any]]] = {nid: [] for nid in nodes}
    inc: dict[str, list[str]] = {nid: [] for nid in nodes}
    for flow in body["flows"]:
        if not set(flow) <= {"id", "from", "to", "condition", "default"}:
            problems.append(f"flow keys {flow['id']}")
        if flow["from"] not in nodes or flow["to"] not in nodes:
            problems.append(f"dangling flow {flow['id']}")
            continue
        out[flow["from"]].append(flow)
        inc[flow["to"]].append(flow["from"])
        if ("condition" in flow or "default" in flow) and nodes[flow["from"]]["type"] != "exclusive":
            problems.append(f"condition outside a gateway {flow['id']}")
    starts = [nid for nid, node in nodes.items() if node["type"] == "start"]
    if len(starts) != 1:
        return [*problems, "start count"]
    for nid, node in nodes.items():
        if not set(node) <= NODE_KEYS or not {"id", "type", "name", "x", "y"} <= set(node):
            problems.append(f"node keys {nid}")
        kind, n_out, n_in = node["type"], len(out[nid]), len(inc[nid])
        if kind not in ("start", "end", "user_task", "exclusive", "parallel"):
            problems.append(f"node type {kind}")
        elif kind == "start" and (n_out != 1 or n_in):
            problems.append(f"start {nid}")
        elif kind == "end" and n_out:
            problems.append(f"end with outgoing {nid}")
        elif kind == "user_task":
            problems += _task_problems(node, n_out)
        elif kind == "exclusive":
            defaults = [f for f in out[nid] if f.get("default") is True]
            if n_out < 2 or len(defaults) != 1:
                problems.append(f"gateway defaults {nid}")
            if any(not f.get("condition") for f in out[nid] if f not in defaults):
                problems.append(f"gateway condition {nid}")
        elif kind == "parallel" and not ((n_out > 1 and n_in == 1) or (n_in > 1 and n_out == 1)):
            problems.append(f"parallel shape {nid}")
        if kind != "user_task" and ("assign" in node or "multi" in node):
            problems.append(f"assign outside a task {nid}")
    reach = _walk(starts[0], {nid: [f["to"] for f in fs] for nid, fs in out.items()})
    back = set()
    for end in (nid for nid, node in nodes.items() if node["type"] == "end"):
        back |= _walk(end, inc)
    if reach != set(nodes):
        problems.append(f"unreachable {sorted(set(nodes) - reach)}")
    if back != set(nodes):
        problems.append(f"cannot reach an end {sorted(set(nodes) - back)}")
    for nid, node in nodes.items():
        if node["type"] == "parallel" and len(out[nid]) > 1:
            joins = {_find_join(flow["to"], nodes, out) for flow in out[nid]}
            join = joins.pop() if len(joins) == 1 else None
            if join is None or len(inc[join]) != len(out[nid]):
                problems.append(f"unpaired split {nid}")
    for flow in body["flows"]:
        used = set(NAME_RE.findall(re.sub(r'"[^"]*"', "", flow.get("condition", ""))))
        if used - {"form", "approved", "steps", "true", "false"} - set(FORM_REF_RE.findall(flow.get("condition", ""))):
            problems.append(f"unknown names in {flow['id']}")
    return problems


def _task_problems(node: dict[str, Any], n_out: int) -> list[str]:
    problems = [] if n_out == 1 else [f"task outgoing {node['id']}"]
    assign, multi = node.get("assign"), node.get("multi")
    rule = (assign or {}).get("rule")
    refs: list[dict[str, Any]] = []
    if rule == "post":
        assert assign is not None
        refs = [assign["unit"]]
        ok = set(assign) == {"rule", "unit", "post"} and assign["post"] in POST_CODES
    elif rule == "posts":
        assert assign is not None
        refs = assign["units"]
        ok = set(assign) == {"rule", "units", "post"} and multi is not None and len(refs) >= 1
    elif rule == "applicant_leader":
        ok = assign == {"rule": "applicant_leader"}
    elif rule == "people":
        assert assign is not None
        ok = set(assign) == {"rule", "people"} and bool(assign["people"])
    else:
        ok = False
    for ref in refs:
        ok = ok and (
            ref in ({"ref": "handling_unit"}, {"ref": "applicant_unit"})
            or (set(ref) == {"ref", "function"} and ref["ref"] == "function" and ref["function"] in names.FUNCTIONS)
        )
    if multi is not None:
        ok = (
            ok
            and multi["mode"] in ("all", "any", "ratio")
            and multi["order"] in ("parallel", "sequential")
            and (multi["mode"] != "ratio" or 0 < multi["ratio"] <= 1)
        )
    return problems if ok else [*problems, f"assignment {node['id']}"]


def _walk(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _find_join(node_id: str, nodes: dict[str, Any], out: dict[str, list[dict[str, Any]]]) -> str | None:
    """Follow one branch to the join it meets, stepping over nested blocks."""
    for _ in range(len(nodes)):
        node = nodes[node_id]
        if node["type"] == "parallel" and len(out[node_id]) == 1:
            return node_id
        if node["type"] == "parallel":
            inner = _find_join(out[node_id][0]["to"], nodes, out)
            if inner is None:
                return None
            node_id = out[inner][0]["to"]
        elif node["type"] == "user_task":
            node_id = out[node_id][0]["to"]
        else:
            return None
    return None


def test_checker_rejects_bad_processes() -> None:
    good = catalogue().processes["joint.finance.audit.government_office"]
    assert _process_problems(good) == []
    no_default = {**good, "flows": [{k: v for k, v in f.items() if k != "default"} for f in good["flows"]]}
    assert _process_problems(no_default)
    orphan = {**good, "nodes": [*good["nodes"], {"id": "lost", "type": "end", "name": "x", "x": 0, "y": 0}]}
    assert _process_problems(orphan)
    unjoined = {
        **good,
        "flows": [f for f in good["flows"] if f["id"] != "f8"]
        + [{"id": "f99", "from": "review_government_office", "to": "gw"}],
    }
    assert _process_problems(unjoined)


@pytest.mark.parametrize("process_id", sorted(catalogue().processes))
def test_process_is_valid(process_id: str) -> None:
    assert _process_problems(catalogue().processes[process_id]) == []


def test_processes_fit_their_matters() -> None:
    c, cat = city(), catalogue()
    employees = {p.employee_code for p in c.people}
    assert {m.process_id for m in cat.matters} == set(cat.processes)
    assert {pid.split(".")[0] for pid in cat.processes} == set(TEMPLATES)
    for m in cat.matters:
        body = cat.processes[m.process_id]
        needed = process_functions(body) | {m.function}
        assert m.function not in process_functions(body)
        for impl in m.implementations:
            assert needed <= c.functions_by_region[impl.region_code], (m.code, impl.region_code)
        fields = {f["key"]: f for f in m.form["fields"]}
        for flow in body["flows"]:
            condition = flow.get("condition", "")
            for key in FORM_REF_RE.findall(condition):
                assert key in fields and fields[key]["required"], (m.code, key)
                if ">" in condition:
                    assert fields[key]["type"] == "number"
            for key, value in re.findall(r'form\.([a-z0-9_]+) == "([^"]*)"', condition):
                assert value in {o["value"] for o in fields[key]["options"]}
        for node in body["nodes"]:
            if node.get("assign", {}).get("rule") == "people":
                assert m.level == "city" and set(node["assign"]["people"]) <= employees
        if m.kind == "immediate":
            assert m.process_id in ("direct", "review")
