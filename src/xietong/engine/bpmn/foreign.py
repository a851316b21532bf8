"""What other tools write, mapped to xietong: JUEL conditions, Camunda/Flowable assignees, completion conditions.

Each function returns the xietong value or raises :class:`Unmappable` with a Chinese reason; the reader turns
that into a problem at the element. See docs/bpmn.md for the mapping table.
"""

from __future__ import annotations

import json
import re
from typing import Any

CEL_LANGUAGES = frozenset({"https://github.com/google/cel-spec", "https://cel.dev", "cel"})  # compared lower-cased
JUEL_LANGUAGES = frozenset({"juel", "http://juel.sourceforge.net"})
JUEL_FORMS = "${x}、${!x}、${a == 'b'}、${n > 3}"

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_LITERAL = r"'[^'\\]*'|\"[^\"\\]*\"|-?\d+(?:\.\d+)?|true|false|null"
_OPERATORS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_OPERATORS |= {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_JUEL = re.compile(r"^[$#]\{\s*(?P<body>.*?)\s*\}$", re.DOTALL)
_NOT = re.compile(rf"^(?:!|not\s+)\s*(?P<name>{_NAME})$")
_OPERATOR = r"==|!=|<=|>=|<|>|\beq\b|\bne\b|\blt\b|\ble\b|\bgt\b|\bge\b"
_COMPARE = re.compile(rf"^(?P<name>{_NAME})\s*(?P<op>{_OPERATOR})\s*(?P<lit>{_LITERAL})$")
_GROUP_OR_USER = re.compile(r"^(?P<kind>user|group)\((?P<value>[^()]*)\)$")
_ANY_SIGN = re.compile(r"^nrOfCompletedInstances\s*(?:>=\s*1|==\s*1|>\s*0)$")
_RATIO = re.compile(r"^nrOfApprovedInstances\s*>=\s*nrOfInstances\s*\*\s*(?P<ratio>\d+(?:\.\d+)?)$")


class Unmappable(ValueError):
    """A value another tool wrote that xietong cannot take over; the message says why, in Chinese."""


def is_expression(value: str) -> bool:
    return "${" in value or "#{" in value or value.lstrip().startswith("=")


def condition(text: str, language: str | None) -> str:
    """A flow condition as CEL: CEL as is, the simple JUEL forms translated, anything else refused."""
    if language is not None and language.strip().lower() in CEL_LANGUAGES:
        return text  # exactly as written: CEL does not care about whitespace, a round trip does
    source = text.strip()
    juel = _JUEL.match(source)
    if language is not None and language.strip().lower() not in JUEL_LANGUAGES:
        raise Unmappable(f"条件语言“{language}”不受支持，条件只能用 CEL（或可转换的简单 JUEL：{JUEL_FORMS}）")
    if juel is None:
        if source.startswith("="):
            raise Unmappable("FEEL 条件（以“=”开头）不受支持，请改写为 CEL")
        return source
    return _juel_to_cel(juel.group("body"))


def _juel_to_cel(body: str) -> str:
    if re.fullmatch(_NAME, body):
        return _variable(body)
    negated = _NOT.match(body)
    if negated:
        return f"!{_variable(negated.group('name'))}"
    compared = _COMPARE.match(body)
    if compared:
        literal = compared.group("lit")
        if literal[0] in "'\"":
            literal = json.dumps(literal[1:-1], ensure_ascii=False)
        return f"{_variable(compared.group('name'))} {_OPERATORS[compared.group('op')]} {literal}"
    raise Unmappable(f"JUEL 表达式“${{{body}}}”无法自动转换（只支持 {JUEL_FORMS}），请改写为 CEL")


def _variable(name: str) -> str:
    """``approved`` stays the step result; every other process variable is read from the case's form."""
    return name if name == "approved" else f"form.{name}"


def assignment(people: list[str], groups: list[str]) -> dict[str, Any]:
    """Camunda/Flowable/Zeebe assignee, candidate users and candidate groups as one xietong assignment rule."""
    values = [*people, *groups]
    dynamic = [v for v in values if is_expression(v)]
    if dynamic:
        raise Unmappable(f"办理人表达式“{dynamic[0]}”无法转换，请改为岗位编码或人员编号")
    if people and groups:
        raise Unmappable("同时指定了人员和候选组，请只保留一种（候选组对应受理单位的一个岗位）")
    if len(groups) > 1:
        raise Unmappable(f"候选组只能有一个（对应受理单位的一个岗位），现有：{'、'.join(groups)}")
    if groups:
        return {"rule": "post", "unit": {"ref": "handling_unit"}, "post": groups[0]}
    return {"rule": "people", "people": people}


def split_list(value: str | None) -> list[str]:
    """``"a, b"`` → ``["a", "b"]`` (Camunda's comma-separated candidate lists)."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def resource_expression(text: str) -> tuple[list[str], list[str]]:
    """A BPMN ``formalExpression`` of a potential owner: ``user(a), group(b), c`` (bare names are groups)."""
    people: list[str] = []
    groups: list[str] = []
    for part in split_list(text):
        match = _GROUP_OR_USER.match(part)
        if match is None:
            groups.append(part)
        elif match.group("kind") == "user":
            people.append(match.group("value").strip())
        else:
            groups.append(match.group("value").strip())
    return people, groups


def completion(text: str | None) -> dict[str, Any]:
    """A multi-instance completion condition as xietong's mode: none → 会签, "one completed" → 或签."""
    if text is None or not text.strip():
        return {"mode": "all"}
    source = text.strip()
    juel = _JUEL.match(source)
    if juel:
        source = juel.group("body")
    if _ANY_SIGN.match(source):
        return {"mode": "any"}
    ratio = _RATIO.match(source)
    if ratio:
        return {"mode": "ratio", "ratio": float(ratio.group("ratio"))}
    raise Unmappable(
        f"会签完成条件“{text.strip()}”无法转换：只支持无条件（全部会签）、"
        "nrOfCompletedInstances >= 1（或签）和 nrOfApprovedInstances >= nrOfInstances * 比例"
    )
