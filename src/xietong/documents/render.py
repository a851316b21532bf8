"""Filling a template: every problem found before anything is rendered, each with its line number."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from xietong.errors import FieldProblem, InvalidInput

MAX_TEMPLATE = 20_000


@dataclass(frozen=True)
class TemplateProblem:
    line: int
    detail: str


def template_problems(body: str, allowed: frozenset[str]) -> list[TemplateProblem]:
    """Unknown fields and malformed ``$`` marks, by line (1-based); empty when the template is sound."""
    if not body.strip():
        return [TemplateProblem(1, "模板内容不能为空")]
    if len(body) > MAX_TEMPLATE:
        return [TemplateProblem(1, f"模板不能超过 {MAX_TEMPLATE} 个字符")]
    problems = []
    for match in string.Template.pattern.finditer(body):
        line = body.count("\n", 0, match.start()) + 1
        name = match.group("named") or match.group("braced")
        if match.group("invalid") is not None:
            problems.append(TemplateProblem(line, "“$”后应为 {字段名}；要写“$”本身请写“$$”"))
        elif name is not None and name not in allowed:
            problems.append(TemplateProblem(line, f"未知的字段 {name}（可用：{'、'.join(sorted(allowed))}）"))
    return problems


def check_template(body: str, allowed: frozenset[str]) -> None:
    """Refuse a template with any problem: one 422 listing each, with its line."""
    problems = template_problems(body, allowed)
    if problems:
        raise InvalidInput(
            code="template_invalid", detail=f"文书模板有 {len(problems)} 处错误",
            errors=[FieldProblem(field=f"body:{p.line}", code="template_invalid", message=f"第 {p.line} 行：{p.detail}")
                    for p in problems],
        )


def render(body: str, allowed: frozenset[str], values: dict[str, Any]) -> str:
    """The filled text; a template that is not sound is refused whole (never half-rendered)."""
    check_template(body, allowed)
    filled = dict.fromkeys(allowed, "") | {k: "" if v is None else str(v) for k, v in values.items()}
    return string.Template(body).substitute(filled)
