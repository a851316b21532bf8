"""Gateway conditions in CEL (cel-python): compiled once per definition, never ``eval``.

Names a condition may use: ``form`` (the case's form data), ``approved`` (the result of the step
or join just completed) and ``steps`` (node id → {"approved": bool, "outcome": str}).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes

ALLOWED_NAMES = frozenset({"form", "approved", "steps"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE = {"approved": True, "!approved": False}  # condition text -> the value of ``approved`` that satisfies it
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


@lru_cache(maxsize=4096)
def _names_in(source: str) -> frozenset[str]:
    """The allowed names a condition may read (a superset: a name inside a string literal counts too)."""
    return ALLOWED_NAMES & frozenset(_IDENTIFIER.findall(source))


def _activation(source: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    # Converting the whole form to CEL values for every gateway was most of a condition's cost.
    return {name: _to_cel(variables[name]) for name in _names_in(source) if name in variables}


def evaluate_condition(source: str, variables: Mapping[str, Any]) -> bool:
    """Evaluate a condition against plain JSON-like variables; anything but a boolean is an error."""
    bare = source.strip()
    if bare in _BARE and isinstance(variables.get("approved"), bool):  # the commonest gateways, without CEL
        return variables["approved"] is _BARE[bare]
    program = compile_condition(source)
    activation = _activation(source, variables)
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
    activation = _activation(source, variables)
    try:
        result = program.evaluate(activation)
    except Exception as exc:
        raise ExpressionError(f"表达式“{source}”求值失败：{exc}") from exc
    if isinstance(result, celtypes.ListType) and all(isinstance(v, celtypes.StringType) for v in result):
        return [str(v) for v in result]
    raise ExpressionError(f"表达式“{source}”的结果不是人员编号列表")
