"""Fuzzing (issue 11 item 7): the form-schema parser and validator, and the CEL condition language, answer any
input with their own error (a ``ValueError`` subclass carrying a Chinese message) — never anything else.

Derandomised with a fixed number of examples, so the suite stays fast and every run tries the same inputs.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.catalog.test_forms import EXAMPLE, VALID_DATA
from xietong.catalog.forms import FormSchemaError, parse_form_schema, validate_form
from xietong.engine.expressions import ExpressionError, evaluate_condition, evaluate_list

FUZZ = settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHINESE = re.compile(r"[\u4e00-\u9fff]")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
KEYS = ["schema", "fields", "key", "label", "type", "required", "min", "max", "min_length", "max_length", "options",
        "columns", "format", "pattern", "multiple", "value", "materials"]


def _mutations(base: Any) -> st.SearchStrategy[Any]:
    """The example schema (or data) with one value somewhere replaced by anything, or a key added."""
    def mutate(draw: Any, node: Any, depth: int = 0) -> Any:
        if isinstance(node, dict) and node and depth < 4:
            key = draw(st.sampled_from([*sorted(node, key=str), draw(st.sampled_from(KEYS))]))
            copy = dict(node)
            copy[key] = mutate(draw, node[key], depth + 1) if key in node and draw(st.booleans()) \
                else draw(json_values)
            return copy
        if isinstance(node, list) and node and depth < 4:
            index = draw(st.integers(0, len(node) - 1))
            copy = list(node)
            copy[index] = mutate(draw, node[index], depth + 1)
            return copy
        return draw(json_values)

    return st.composite(lambda draw: mutate(draw, base))()


@FUZZ
@given(raw=json_values | _mutations(EXAMPLE) | st.text(max_size=200))
def test_the_schema_parser_refuses_anything_with_its_own_chinese_error(raw: Any) -> None:
    try:
        parse_form_schema(raw)
    except FormSchemaError as error:
        assert error.problems and CHINESE.search(str(error))


SCHEMA = parse_form_schema(EXAMPLE)


@FUZZ
@given(data=json_values | _mutations(VALID_DATA))
def test_the_validator_reports_field_errors_for_any_data(data: Any) -> None:
    cleaned, errors = validate_form(SCHEMA, data)
    assert isinstance(cleaned, dict)
    assert all(CHINESE.search(error.message) for error in errors)


CEL_ATOMS = ["form", "approved", "steps", "form.amount", "form.title", "steps.accept.approved", "1", "2.5", "'x'",
             "true", "null", "[1, 2]", "{'a': 1}", "size(form)", "form.items[0]", "'a' + 1", "1 / 0",
             "int('x')", "has(form.amount)", "form.amount > 10", "!", "(", ")", "&&", "||", "==", "?", ":", "."]


@FUZZ
@given(source=st.lists(st.sampled_from(CEL_ATOMS), min_size=1, max_size=8).map(" ".join) | st.text(max_size=80),
       form=st.dictionaries(st.sampled_from(["amount", "title", "items"]), json_values, max_size=3))
def test_conditions_either_evaluate_or_raise_an_expression_error(source: str, form: dict[str, Any]) -> None:
    variables = {"form": form, "approved": True, "steps": {"accept": {"approved": False, "outcome": "deny"}}}
    for evaluate in (evaluate_condition, evaluate_list):
        try:
            evaluate(source, variables)
        except ExpressionError as error:
            assert CHINESE.search(str(error))
