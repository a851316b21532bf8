"""The application wizard's 办理情形 step: the answers posted as ``sit.<question>``, and the matter as it applies
to them (form and materials trimmed by ``catalog.situations``) — the hooks ``matters.py`` calls."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from xietong.catalog import situations
from xietong.catalog.schemas import MatterDetail
from xietong.errors import FieldProblem

PREFIX = "sit."


def answers_from(data: FormData) -> dict[str, str]:
    """The answers a wizard page posted (hidden inputs after the questions, radio buttons on them)."""
    return {k[len(PREFIX):]: v for k, v in data.multi_items() if k.startswith(PREFIX) and isinstance(v, str) and v}


def with_answers(matter: MatterDetail, answers: dict[str, str] | None
                 ) -> tuple[MatterDetail, dict[str, Any], list[FieldProblem]]:
    """The matter as it applies to the answers, the template's context, and what is wrong with the answers
    (a version without 办理情形 comes back unchanged, with no problems)."""
    version = matter.current_version
    if version is None or not version.situations:
        return matter, {}, []
    parsed = situations.parse_situations(version.situations)
    problems = situations.answer_problems(parsed, answers or {})
    context: dict[str, Any] = {"situations": parsed, "answers": answers or {}}
    if problems:
        return matter, context, problems
    assert answers is not None
    applied = situations.apply(parsed, answers, form_schema=version.form_schema, materials=version.materials)
    trimmed = version.model_copy(update={"form_schema": applied.form_schema, "materials": applied.materials})
    context |= {"answers": applied.answers, "situation_labels": situations.labels(parsed, applied.answers)}
    return matter.model_copy(update={"current_version": trimmed}), context, []


def case_answers(form: dict[str, Any], version_situations: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A case's answers as (question, option) labels for its page; empty when it has none."""
    kept = form.get(situations.FORM_KEY)
    if not isinstance(kept, dict) or not version_situations:
        return []
    return situations.labels(situations.parse_situations(version_situations), kept.get("answers", {}))
