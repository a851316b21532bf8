"""Gateway conditions: the shortcuts give exactly what CEL gives, and only the names used are converted."""

from __future__ import annotations

import pytest

from xietong.engine.expressions import ExpressionError, _names_in, compile_condition, evaluate_condition


@pytest.mark.parametrize("source", ["approved", "!approved", " approved ", "approved == true", "!(approved)"])
@pytest.mark.parametrize("approved", [True, False])
def test_the_bare_approved_shortcut_agrees_with_cel(source: str, approved: bool) -> None:
    from celpy import celtypes

    expected = bool(compile_condition(source).evaluate({"approved": celtypes.BoolType(approved)}))
    assert evaluate_condition(source, {"approved": approved, "form": {"x": 1}}) is expected


def test_only_the_names_a_condition_reads_are_converted() -> None:
    assert _names_in('form.amount > 50 && steps.review.approved') == {"form", "steps", "approved"}
    assert _names_in("approved") == {"approved"}
    # A form the condition does not read may hold anything, even values CEL cannot represent.
    assert evaluate_condition("approved", {"approved": True, "form": {"odd": object()}}) is True
    assert evaluate_condition("form.n > 2", {"approved": False, "form": {"n": 3}, "steps": {"x": object()}})


def test_a_non_boolean_approved_still_goes_through_cel_and_fails() -> None:
    with pytest.raises(ExpressionError):
        evaluate_condition("approved", {"approved": "yes"})
    with pytest.raises(ExpressionError):
        evaluate_condition("form.n", {"form": {"n": 3}})
