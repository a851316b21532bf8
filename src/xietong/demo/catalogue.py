"""The demo matter catalogue (事项目录): base matters, their forms, materials, processes and
local implementations, built deterministically for a :class:`~xietong.demo.city.City`.

Matter codes
    ``JG-<AB>-<NNNN>``: ``JG`` for 机关 (an inter-department matter), ``<AB>`` the handling
    function's abbreviation (``CZ`` 财政 finance, ``BB`` 编办 staffing, ``DS`` 大数据 big_data …,
    see :data:`xietong.demo.names.FUNCTIONS`) and a four-digit number per function:
    ``0001``–``4999`` for city-level (市本级) matters, ``5001``–``9999`` for county-level matters,
    which are implemented in one or more counties (and the development zone).
    A local implementation's code is ``<matter code>-<region code>``
    (``JG-CZ-5003-331121``).

Processes
    :attr:`Catalogue.processes` maps a template id to one ``xietong.process/1`` definition;
    matters refer to it by :attr:`Matter.process_id`, so identical definitions are shared.
    Ids are ``<template>`` or ``<template>.<parameters>`` (``amount.50``,
    ``cosign.finance.audit``); see :data:`TEMPLATES`.  A template refers to other units only by
    function (``{"ref": "function"}``), and a matter is implemented only in regions that have
    every such function.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

from xietong.demo import names as n
from xietong.demo.city import City

__all__ = [
    "FORM_SCHEMA",
    "PHONE_PATTERN",
    "PROCESS_SCHEMA",
    "TEMPLATES",
    "Catalogue",
    "Implementation",
    "Matter",
    "build_catalogue",
    "process_functions",
]

FORM_SCHEMA = "xietong.form/1"
PROCESS_SCHEMA = "xietong.process/1"
PHONE_PATTERN = r"^1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$"

#: Template id prefix -> what the process looks like.
TEMPLATES: dict[str, str] = {
    "direct": "即办：经办人当场办结",
    "review": "一步：科室审核办结",
    "linear2": "两步：科室审核 → 分管领导审批",
    "linear3": "三步：经办人受理 → 科室审核 → 分管领导审批",
    "linear_head": "三步：科室审核 → 分管领导审核 → 主要负责人审批",
    "applicant_confirm": "申请单位分管领导确认 → 科室审核 → 分管领导审批",
    "amount": "科室审核 → 金额判断（排他网关，form.amount）→ 超过限额报分管领导（及主要负责人）",
    "data_branch": "科室审核 → 共享方式判断（form.share_type）→ 有条件共享报分管领导",
    "cosign": "科室审核 → 相关部门会签（all，并行）→ 分管领导审批",
    "cosign_seq": "科室审核 → 相关部门依次会签（all，顺序）→ 分管领导审批",
    "anysign": "科室审核 → 相关部门或签（any）",
    "ratio": "科室审核 → 联合评审（ratio 0.5）→ 通过则分管领导审批，否则不予通过",
    "parallel": "科室审核 → 并行分支到 2–3 个部门审查 → 汇总 → 分管领导审批",
    "joint": "受理审查 → 并行 3 部门会审 → 汇总 → 会审结论（approved）→ 审批决定；否则退回受理审查",
    "designated": "科室审核 → 指定专家组评审（按人员编号）→ 分管领导审批（仅市本级）",
}

_CITY_PER_FUNCTION = 7
_CITY_MORE = {"finance": 9, "staffing": 9, "big_data": 9, "hr_social": 9, "government_affairs": 9}
_COUNTY_CORE_COUNT = 15
_QUICK_ENDINGS = tuple(n.QUICK_ENDINGS.split())
#: Partners a template takes from its group (0: two for a pair group, three otherwise).
_PARTNER_COUNT = {"cosign": 2, "cosign_seq": 2, "anysign": 2, "ratio": 3, "parallel": 0, "joint": 3}
_PAIR_GROUPS = frozenset({"data", "safety", "social"})
_FALLBACK_GROUPS = ("oversight", "investment", "data")


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Implementation:
    """A base matter implemented (local matter) in one region by one handling department."""

    code: str
    matter_code: str
    name: str
    region_code: str
    unit_key: str
    promised_limit_days: int


@dataclass(frozen=True)
class Matter:
    """A base matter with its form, materials, process template and implementations."""

    code: str
    name: str
    level: str  # "city" | "county"
    function: str  # handling unit function
    kind: str  # "immediate" | "promised"
    legal_limit_days: int
    promised_limit_days: int
    applicant_functions: tuple[str, ...]  # ("any",) or function codes
    process_id: str
    form: dict[str, Any]
    materials: list[dict[str, Any]]
    implementations: tuple[Implementation, ...]
    legal_basis: str = ""
    profile: str = "generic"  # the form/material shape: money, personnel, data, use …


@dataclass(frozen=True)
class Catalogue:
    """Base matters plus the process definitions they share (by template id)."""

    matters: tuple[Matter, ...]
    processes: dict[str, dict[str, Any]]

    def matter(self, code: str) -> Matter:
        """The base matter with this code (KeyError if none)."""
        for m in self.matters:
            if m.code == code:
                return m
        raise KeyError(code)

    def city_matters(self) -> list[Matter]:
        """Base matters of 市本级."""
        return [m for m in self.matters if m.level == "city"]

    def county_matters(self) -> list[Matter]:
        """County-level base matters (each implemented in one or more counties)."""
        return [m for m in self.matters if m.level == "county"]

    def implementations(self, level: str | None = None) -> list[Implementation]:
        """Every local implementation, optionally of one level's matters only."""
        return [i for m in self.matters if level in (None, m.level) for i in m.implementations]


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

_HANDLING = {"ref": "handling_unit"}


def _post(unit: dict[str, str], post: str) -> dict[str, Any]:
    return {"rule": "post", "unit": dict(unit), "post": post}


def _fn(function: str) -> dict[str, str]:
    return {"ref": "function", "function": function}


class _Process:
    """Collects nodes (laid out on a 160 × 100 grid, left to right) and flows."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[dict[str, Any]] = []
        self.flows: list[dict[str, Any]] = []

    def node(self, node_id: str, kind: str, name: str, col: int, row: float = 0, **extra: Any) -> str:
        self.nodes.append(
            {"id": node_id, "type": kind, "name": name, "x": 40 + col * 160, "y": int(160 + row * 100), **extra}
        )
        return node_id

    def task(
        self,
        node_id: str,
        name: str,
        col: int,
        assign: dict[str, Any],
        *,
        row: float = 0,
        limit: int | None = 2,
        multi: dict[str, Any] | None = None,
    ) -> str:
        extra: dict[str, Any] = {} if limit is None else {"limit_days": limit}
        extra["assign"] = assign
        if multi is not None:
            extra["multi"] = multi
        return self.node(node_id, "user_task", name, col, row, **extra)

    def flow(self, source: str, target: str, condition: str | None = None, default: bool = False) -> None:
        flow: dict[str, Any] = {"id": f"f{len(self.flows) + 1}", "from": source, "to": target}
        if condition is not None:
            flow["condition"] = condition
        if default:
            flow["default"] = True
        self.flows.append(flow)

    def chain(self, *ids: str) -> None:
        for source, target in itertools.pairwise(ids):
            self.flow(source, target)

    def body(self) -> dict[str, Any]:
        return {"schema": PROCESS_SCHEMA, "name": self.name, "nodes": self.nodes, "flows": self.flows, "extensions": {}}


def _labels(functions: tuple[str, ...]) -> str:
    return "、".join(n.FUNCTIONS[f].label for f in functions)


def _rows(count: int) -> list[float]:
    return [i - (count - 1) / 2 for i in range(count)]


def _build_process(template: str, params: tuple[str, ...], people: tuple[str, ...]) -> dict[str, Any]:
    p = _Process(template)
    start = p.node("start", "start", "开始", 0)
    sc, lead = "section_chief", "leader_in_charge"
    if template == "direct":
        p.name = "即办流程"
        p.chain(
            start,
            p.task("handle", "即办办结", 1, _post(_HANDLING, "clerk"), limit=None),
            p.node("end", "end", "结束", 2),
        )
    elif template == "review":
        p.name = "一级审核流程"
        p.chain(
            start, p.task("review", "科室审核办结", 1, _post(_HANDLING, sc), limit=3), p.node("end", "end", "结束", 2)
        )
    elif template in ("linear2", "linear3", "linear_head", "applicant_confirm"):
        p.name = {
            "linear2": "两级审批流程",
            "linear3": "三级审批流程",
            "linear_head": "主要负责人审批流程",
            "applicant_confirm": "申请单位确认审批流程",
        }[template]
        steps = [start]
        if template == "linear3":
            steps.append(p.task("accept", "经办人受理", 1, _post(_HANDLING, "clerk"), limit=1))
        if template == "applicant_confirm":
            steps.append(p.task("confirm", "申请单位分管领导确认", 1, {"rule": "applicant_leader"}, limit=1))
        steps.append(p.task("review", "科室审核", len(steps), _post(_HANDLING, sc)))
        last = "分管领导审核" if template == "linear_head" else "分管领导审批"
        steps.append(p.task("leader", last, len(steps), _post(_HANDLING, lead), limit=1))
        if template == "linear_head":
            steps.append(p.task("head", "主要负责人审批", len(steps), _post(_HANDLING, "head"), limit=1))
        steps.append(p.node("end", "end", "结束", len(steps)))
        p.chain(*steps)
    elif template in ("amount", "data_branch"):
        p.chain(start, p.task("review", "科室审核", 1, _post(_HANDLING, sc)))
        if template == "data_branch":
            p.name = "数据共享分级审批流程"
            p.node("gw", "exclusive", "共享方式判断", 2)
            conditions = ['form.share_type == "conditional"']
        elif len(params) == 1:
            p.name = f"金额分级审批流程（{params[0]} 万元）"
            p.node("gw", "exclusive", "金额判断", 2)
            conditions = [f"form.amount > {params[0]}"]
        else:
            low, high = params
            p.name = f"金额分级审批流程（{low}/{high} 万元）"
            p.node("gw", "exclusive", "金额判断", 2)
            conditions = [f"form.amount > {low} && form.amount <= {high}", f"form.amount > {high}"]
        p.flow("review", "gw")
        p.flow("gw", p.task("leader", "分管领导审批", 3, _post(_HANDLING, lead), row=-1, limit=1), conditions[0])
        end_col = 4
        if len(conditions) == 2:
            p.flow("gw", p.task("leader_big", "分管领导审核", 3, _post(_HANDLING, lead), row=1, limit=1), conditions[1])
            p.flow("leader_big", p.task("head", "主要负责人审批", 4, _post(_HANDLING, "head"), row=1, limit=1))
            end_col = 5
        p.node("end", "end", "结束", end_col)
        p.flow("leader", "end")
        if len(conditions) == 2:
            p.flow("head", "end")
        p.flow("gw", "end", default=True)
    elif template in ("cosign", "cosign_seq", "anysign", "designated"):
        units = [_fn(f) for f in params]
        if template == "designated":
            p.name = "专家组评审流程"
            middle = p.task("experts", "专家组评审", 2, {"rule": "people", "people": list(people)}, limit=5)
        elif template == "anysign":
            p.name = f"或签流程（{_labels(params)}）"
            middle = p.task(
                "anysign",
                "相关部门或签",
                2,
                {"rule": "posts", "units": units, "post": sc},
                limit=3,
                multi={"mode": "any", "order": "parallel"},
            )
        else:
            order = "sequential" if template == "cosign_seq" else "parallel"
            p.name = f"{'依次' if order == 'sequential' else ''}会签流程（{_labels(params)}）"
            middle = p.task(
                "cosign",
                "相关部门依次会签" if order == "sequential" else "相关部门会签",
                2,
                {"rule": "posts", "units": units, "post": sc},
                limit=3,
                multi={"mode": "all", "order": order},
            )
        steps = [start, p.task("review", "科室审核", 1, _post(_HANDLING, sc)), middle]
        if template != "anysign":
            steps.append(p.task("leader", "分管领导审批", 3, _post(_HANDLING, lead), limit=1))
        steps.append(p.node("end", "end", "结束", len(steps)))
        p.chain(*steps)
    elif template == "ratio":
        p.name = f"联合评审流程（{_labels(params)}）"
        units = [_fn(f) for f in params]
        p.chain(
            start,
            p.task("review", "科室审核", 1, _post(_HANDLING, sc)),
            p.task(
                "vote",
                "联合评审",
                2,
                {"rule": "posts", "units": units, "post": sc},
                limit=5,
                multi={"mode": "ratio", "order": "parallel", "ratio": 0.5},
            ),
            p.node("gw", "exclusive", "评审结论", 3),
        )
        p.flow("gw", p.task("leader", "分管领导审批", 4, _post(_HANDLING, lead), row=-1, limit=1), "approved")
        p.flow("gw", p.node("reject", "end", "不予通过", 4, row=1), default=True)
        p.flow("leader", p.node("end", "end", "结束", 5))
    elif template in ("parallel", "joint"):
        joint = template == "joint"
        p.name = f"{'联合会审' if joint else '并联审查'}流程（{_labels(params)}）"
        p.chain(
            start,
            p.task("review", "受理审查" if joint else "科室审核", 1, _post(_HANDLING, sc)),
            p.node("split", "parallel", "联合会审" if joint else "并联审查", 2),
        )
        p.node("join", "parallel", "会审汇总" if joint else "审查汇总", 4)
        for function, row in zip(params, _rows(len(params)), strict=True):
            branch = p.task(
                f"review_{function}",
                f"{n.FUNCTIONS[function].label}审查",
                3,
                _post(_fn(function), sc),
                row=row,
                limit=3,
            )
            p.chain("split", branch, "join")
        if joint:
            p.chain("join", p.node("gw", "exclusive", "会审结论", 5))
            p.flow("gw", p.task("approve", "审批决定", 6, _post(_HANDLING, lead), limit=1), "approved")
            p.flow("gw", "review", default=True)
            p.chain("approve", p.node("end", "end", "结束", 7))
        else:
            p.chain(
                "join",
                p.task("leader", "分管领导审批", 5, _post(_HANDLING, lead), limit=1),
                p.node("end", "end", "结束", 6),
            )
    else:  # pragma: no cover - guarded by TEMPLATES
        raise ValueError(template)
    return p.body()


def process_functions(process: dict[str, Any]) -> set[str]:
    """The functions a process refers to with ``{"ref": "function"}``."""
    found: set[str] = set()
    for node in process["nodes"]:
        assign = node.get("assign") or {}
        for ref in [assign.get("unit") or {}, *(assign.get("units") or [])]:
            if ref.get("ref") == "function":
                found.add(ref["function"])
    return found


# ---------------------------------------------------------------------------
# Forms and materials
# ---------------------------------------------------------------------------


def _text(key: str, label: str, required: bool = True, **extra: Any) -> dict[str, Any]:
    base = {"min_length": None, "max_length": 200, "pattern": None, "multiline": False}
    return {"key": key, "label": label, "type": "text", "required": required, **base, **extra}


def _number(key: str, label: str, required: bool = True, **extra: Any) -> dict[str, Any]:
    base = {"min": 0, "max": None, "integer": False, "unit": "万元"}
    return {"key": key, "label": label, "type": "number", "required": required, **base, **extra}


def _date(key: str, label: str, required: bool = True) -> dict[str, Any]:
    return {"key": key, "label": label, "type": "date", "required": required, "min": None, "max": None}


def _select(key: str, label: str, options: str, required: bool = True) -> dict[str, Any]:
    """``options`` is ``"value:标签 value:标签 …"``."""
    choices = [dict(zip(("value", "label"), item.split(":"), strict=True)) for item in options.split()]
    return {"key": key, "label": label, "type": "select", "required": required, "multiple": False, "options": choices}


def _table(
    key: str, label: str, columns: list[dict[str, Any]], required: bool = True, rows: int = 100
) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "type": "table",
        "required": required,
        "min_rows": int(required),
        "max_rows": rows,
        "columns": columns,
    }


def _profile_fields(profile: str) -> list[dict[str, Any]]:
    """The matter-specific fields of a form profile (optional ones may be left out)."""
    if profile == "money":
        items = [
            _text("item", "项目名称", max_length=100),
            _number("amount", "金额（万元）"),
            _text("purpose", "用途说明", False),
        ]
        return [
            _number("amount", "申请金额（万元）"),
            _select(
                "fund_source", "资金来源", "local:本级财政资金 transfer:上级转移支付 bond:政府债券资金 own:单位自有资金"
            ),
            _table("detail", "资金明细", items, required=False),
        ]
    if profile == "personnel":
        people = [
            _text("name", "姓名", max_length=20),
            _text("position", "拟任职务（岗位）", False, max_length=50),
            _select("category", "人员类别", "civil:公务员 ref:参公人员 institution:事业人员 contract:编外人员"),
        ]
        return [
            _number("headcount", "涉及人数", min=1, max=500, integer=True, unit="人"),
            _table("persons", "人员名单", people, rows=200),
            _date("effective_date", "拟生效日期", False),
        ]
    if profile == "data":
        items = [
            _text("item", "数据项名称", max_length=50),
            _text("purpose", "使用用途"),
            _select("frequency", "更新频率", "realtime:实时 daily:每日 monthly:每月", required=False),
        ]
        return [
            _select("share_type", "共享方式", "unconditional:无条件共享 conditional:有条件共享"),
            _table("data_items", "数据项清单", items),
            _date("end_date", "使用截止日期", False),
        ]
    if profile == "use":
        return [
            _date("start_date", "开始日期"),
            _date("end_date", "结束日期"),
            _number("participants", "人数", False, min=1, max=1000, integer=True, unit="人"),
        ]
    if profile == "archive":
        return [
            _select("purpose", "利用目的", "work:工作查考 history:编史修志 research:学术研究 proof:出具证明"),
            _text("scope", "查阅范围", max_length=500, multiline=True),
            _date("visit_date", "预约日期", False),
        ]
    if profile == "project":
        return [
            _text("project_name", "项目名称", max_length=100),
            _number("investment", "总投资（万元）", False),
            _select("category", "项目类别", "new:新建 expand:改扩建 other:其他"),
            _date("start_date", "计划开工日期", False),
        ]
    return [
        _text("content", "申请内容", min_length=2, max_length=2000, multiline=True),
        _select("urgency", "紧急程度", "normal:一般 urgent:紧急", required=False),
        _date("expected_date", "期望办结日期", False),
    ]


def _materials(profile: str, rng: random.Random) -> list[dict[str, Any]]:
    """1–5 materials: the 申请函, some of the profile's own and perhaps a generic one or two."""
    own = n.PROFILE_MATERIALS[profile]
    rows = [("申请函", True, "pdf ofd docx"), *own[: rng.randint(0, len(own))]]
    rows += rng.sample(n.EXTRA_MATERIALS, rng.randint(0, min(2, 5 - len(rows))))
    return [
        {
            "code": f"M{i:02d}",
            "name": name,
            "required": required,
            "formats": formats.split(),
            "max_size_mb": 50 if "zip" in formats else 20,
            "note": "加盖单位公章" if i == 1 else "",
            **({"shared_kind": n.SHARED_KINDS[name]} if name in n.SHARED_KINDS else {}),
        }
        for i, (name, required, formats) in enumerate(rows, start=1)
    ]


def _form(profile: str, materials: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    fields = [
        _text("title", "申请事由", min_length=2),
        _text("contact", "联系人", min_length=2, max_length=20),
        _text("phone", "联系电话", max_length=20, pattern=PHONE_PATTERN),
    ]
    fields += [f for f in _profile_fields(profile) if f["required"] or rng.random() < 0.7]
    for key, material in (("letter", materials[0]), ("attachment", materials[1] if len(materials) > 1 else None)):
        if material is not None:
            fields.append(
                {
                    "key": key,
                    "label": material["name"],
                    "type": "file",
                    "required": material["required"],
                    "material": material["code"],
                }
            )
    return {"schema": FORM_SCHEMA, "fields": fields}


# ---------------------------------------------------------------------------
# Matters
# ---------------------------------------------------------------------------


def _profile(name: str) -> str:
    for profile, words in n.PROFILE_KEYWORDS.items():
        if any(w in name for w in words.split()):
            return profile
    return "generic"


def _qualified(base: str) -> list[str]:
    for endings, qualifiers in n.QUALIFIERS:
        if base.endswith(endings):
            return [f"{base}（{q}）" for q in qualifiers]
    return [f"{base}（{q}）" for q in n.DEFAULT_QUALIFIERS]


def _name_pool(function: str, rng: random.Random) -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, base name, applicant functions): shuffled base names first, then qualified ones."""
    bases = []
    for item in n.MATTERS[function].split("、"):
        base, _, applicants = item.partition("@")
        bases.append((base, tuple(applicants.split("+")) if applicants else ("any",)))
    rng.shuffle(bases)
    variants = [(q, base, apps) for base, apps in bases for q in _qualified(base)]
    rng.shuffle(variants)
    return [(base, base, apps) for base, apps in bases] + variants


def _choose_template(
    function: str, base: str, profile: str, level: str, rng: random.Random
) -> tuple[str, tuple[str, ...]]:
    weights = {k: int(w) for k, _, w in (item.partition(":") for item in n.KIND_WEIGHTS[profile].split())}
    if any(w in base for w in ("推荐", "评定", "认定", "评审")):
        weights["ratio"] = weights.get("ratio", 0) + 40
    if any(w in base for w in ("联合", "联审", "会审", "论证")):
        weights["joint"] = weights.get("joint", 0) + 30
        weights["parallel"] = weights.get("parallel", 0) + 30
    if level == "city" and function in ("reform_office", "service_center"):
        weights["designated"] = 30
    template = rng.choices(list(weights), weights=list(weights.values()))[0]
    if template == "amount":
        if function in ("finance", "state_assets", "development") and rng.random() < 0.5:
            return template, ("50", "200")
        return template, (rng.choice(("50", "100")),)
    if template in _PARTNER_COUNT:
        count = _PARTNER_COUNT[template]

        def fits(group: str) -> bool:
            size = count or (2 if group in _PAIR_GROUPS else 3)
            return function not in n.PARTNER_GROUPS[group][:size]

        groups = [g for g in n.FUNCTION_GROUPS.get(function, ()) if fits(g)]
        group = rng.choice(groups or [g for g in _FALLBACK_GROUPS if fits(g)])
        size = count or (2 if group in _PAIR_GROUPS else 3)
        return template, n.PARTNER_GROUPS[group][:size]
    return template, ()


def _limits(kind: str, rng: random.Random) -> tuple[int, int]:
    if kind == "immediate":
        return 0, 0
    legal = rng.choices((5, 7, 10, 15, 20), weights=(2, 3, 4, 3, 2))[0]
    return legal, max(1, min(legal, round(legal * rng.uniform(0.4, 0.7))))


def _county_counts(city: City) -> dict[str, int]:
    """How many county-level base matters each function gets."""
    regions = [r.code for r in city.regions if r.level == "county" and r.code_kind == "division"]
    counts: dict[str, int] = {}
    for function in n.FUNCTIONS:
        having = sum(function in city.functions_by_region[code] for code in regions)
        if having == len(regions):
            counts[function] = _COUNTY_CORE_COUNT
        elif having >= 5:
            counts[function] = 8
        elif having >= 2:
            counts[function] = 5
        elif having == 1:
            counts[function] = 3
    return counts


def _pick_regions(eligible: list[str], rng: random.Random) -> list[str]:
    size = len(eligible)
    roll = rng.random()
    if roll < 0.62 or size == 1:
        k = size
    elif roll < 0.92:
        k = rng.randint(max(1, (size + 1) // 2), size - 1)
    else:
        k = rng.randint(1, max(1, (size + 1) // 2))
    chosen = set(rng.sample(eligible, k))
    return [code for code in eligible if code in chosen]


def build_catalogue(city: City, seed: int = 2026) -> Catalogue:
    """Build the demo catalogue for ``city`` deterministically from ``seed``."""
    rng = random.Random(f"xietong-demo-catalogue-{seed}")
    county_regions = [r.code for r in city.regions if r.level == "county"]
    funcs = city.functions_by_region
    experts = tuple(
        sorted(
            p.employee_code
            for p in city.people
            if p.unit_key == f"{n.CITY_CODE}.reform_office" and p.post_code in ("section_chief", "leader_in_charge")
        )
    )
    county_counts = _county_counts(city)
    processes: dict[str, dict[str, Any]] = {}
    matters: list[Matter] = []

    for function, info in n.FUNCTIONS.items():
        pool = _name_pool(function, rng)
        city_count = _CITY_MORE.get(function, _CITY_PER_FUNCTION)
        county_count = county_counts.get(function, 0)
        if len(pool) < city_count + county_count:  # pragma: no cover - data guard
            raise ValueError(f"not enough matter names for {function}")
        plan = [("city", item) for item in pool[:city_count]]
        plan += [("county", item) for item in pool[city_count : city_count + county_count]]
        serial = {"city": 0, "county": 5000}
        for level, (name, base, applicants) in plan:
            serial[level] += 1
            code = f"JG-{info.abbr}-{serial[level]:04d}"
            profile = _profile(base)
            quick = base.endswith(_QUICK_ENDINGS)
            kind = "immediate" if rng.random() < (0.6 if quick else 0.08) else "promised"
            params: tuple[str, ...]
            if kind == "immediate":
                template, params = rng.choice(("direct", "direct", "review")), ()
            else:
                template, params = _choose_template(function, base, profile, level, rng)
            process_id = ".".join((template, *params))
            if template == "designated":
                process_id = "designated.reform"
            if process_id not in processes:
                processes[process_id] = _build_process(template, params, experts)
            needed = {function} | process_functions(processes[process_id])
            if level == "city":
                regions = [n.CITY_CODE]
            else:
                regions = _pick_regions([code for code in county_regions if needed <= funcs[code]], rng)
            legal, promised = _limits(kind, rng)
            impls = []
            for region in regions:
                local = (
                    promised
                    if level == "city" or kind == "immediate"
                    else max(1, promised - rng.choice((0, 0, 0, 1, 2)))
                )
                impls.append(Implementation(f"{code}-{region}", code, name, region, f"{region}.{function}", local))
            materials = _materials(profile, rng)
            matters.append(
                Matter(
                    code=code,
                    name=name,
                    level=level,
                    function=function,
                    kind=kind,
                    legal_limit_days=legal,
                    promised_limit_days=promised,
                    applicant_functions=applicants,
                    process_id=process_id,
                    form=_form(profile, materials, rng),
                    materials=materials,
                    implementations=tuple(impls),
                    legal_basis=n.LEGAL_BASIS.get(function, n.DEFAULT_BASIS),
                    profile=profile,
                )
            )
    used = {m.process_id for m in matters}
    return Catalogue(tuple(matters), {pid: processes[pid] for pid in sorted(used)})
