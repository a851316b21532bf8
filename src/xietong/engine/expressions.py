"""Gateway conditions in CEL (cel-python): compiled once per definition, never ``eval``.

Names a condition may use: ``form`` (the case's form data), ``approved`` (the result of the step
or join just completed) and ``steps`` (node id → {"approved": bool, "outcome": str}).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes

ALLOWED_NAMES = frozenset({"form", "approved", "steps"})
MAX_EXPRESSION_LENGTH = 500

# cel-python logs every evaluation error at ERROR level; we report them ourselves.
logging.getLogger("celpy").setLevel(logging.CRITICAL)
_ENV = celpy.Environment()


class ExpressionError(ValueError):
    """A condition that does not parse, or that fails to evaluate to a boolean."""


@lru_cache(maxsize=4096)
def compile_condition(source: str) -> celpy.Runner:
    """Parse ``source`` once; the compiled program is cached by its text."""
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"表达式过长（超过 {MAX_EXPRESSION_LENGTH} 个字符）")
    try:
        return _ENV.program(_ENV.compile(source))
    except celpy.CELParseError as exc:
        raise ExpressionError(f"表达式语法错误：{source}") from exc
    except Exception as exc:  # cel-python raises assorted errors for unsupported constructs
        raise ExpressionError(f"表达式无法编译：{source}") from exc


def evaluate_condition(source: str, variables: Mapping[str, Any]) -> bool:
    """Evaluate a condition against plain JSON-like variables; anything but a boolean is an error."""
    program = compile_condition(source)
    activation = {name: _to_cel(value) for name, value in variables.items()}
    try:
        result = program.evaluate(activation)
    except Exception as exc:
        raise ExpressionError(f"条件“{source}”求值失败：{exc}") from exc
    if isinstance(result, celtypes.BoolType):
        return bool(result)
    raise ExpressionError(f"条件“{source}”的结果不是真/假值")


def _to_cel(value: Any) -> Any:
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    return celpy.json_to_cel(value)


def evaluate_list(source: str, variables: Mapping[str, Any]) -> list[str]:
    """Evaluate an assignment expression that must yield a list of strings (employee codes)."""
    program = compile_condition(source)
    activation = {name: _to_cel(value) for name, value in variables.items()}
    try:
        result = program.evaluate(activation)
    except Exception as exc:
        raise ExpressionError(f"表达式“{source}”求值失败：{exc}") from exc
    if isinstance(result, celtypes.ListType) and all(isinstance(v, celtypes.StringType) for v in result):
        return [str(v) for v in result]
    raise ExpressionError(f"表达式“{source}”的结果不是人员编号列表")
