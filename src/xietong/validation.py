"""Pydantic validation errors in Chinese: one translation for the API, the spreadsheets and the forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from xietong.errors import FieldProblem

MESSAGES = {
    "missing": "必填",
    "string_too_short": "不能为空",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_type": "应为文本",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为是或否",
    "bool_type": "应为是或否",
    "literal_error": "只能是 {expected}",
    "enum": "只能是 {expected}",
    "extra_forbidden": "不认识的字段",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "必须大于 {gt}",
    "less_than": "必须小于 {lt}",
    "datetime_parsing": "应为日期时间（如 2026-11-25T09:00:00+08:00）",
    "datetime_from_date_parsing": "应为日期时间（如 2026-11-25T09:00:00+08:00）",
    "date_parsing": "应为日期（如 2026-11-25）",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "model_attributes_type": "应为对象",
    "json_invalid": "不是合法的 JSON",
    "too_long": "条目过多",
}


def problems_from(errors: Iterable[Mapping[str, Any]], labels: Mapping[str, str] | None = None) -> list[FieldProblem]:
    """Pydantic error dicts (``exc.errors()``) as FieldProblems in Chinese, fields named by ``labels``."""
    problems = []
    for error in errors:
        loc = ".".join(str(part) for part in error["loc"])
        name = (labels or {}).get(loc, loc)
        template = MESSAGES.get(error["type"])
        try:
            message = template.format(**error.get("ctx", {})) if template else error["msg"]
        except (KeyError, IndexError):
            message = error["msg"]
        problems.append(FieldProblem(field=name, message=message, code=error["type"]))
    return problems
