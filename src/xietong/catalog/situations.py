"""办理情形 (handling situations): a version's few questions whose answers select the materials, form fields and
steps that apply — the ``situations`` section of a matter version (docs/form-schema.md §办理情形).

An item (material, field, step) named by any option is **governed**: it applies only when an option chosen
names it. Everything else always applies as the version defines it. A governed material is required when a
chosen option that names it says so. ``apply`` gives the form schema, the materials and the skipped steps for
one set of answers; the case keeps the answers and skipped steps in its form under ``_situation`` and the
engine passes through a skipped step without opening a task (docs/process-schema.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xietong.errors import FieldProblem, InvalidInput
from xietong.validation import problems_from

#: the key of the case form that holds the answers and skipped steps (no form field key starts with ``_``)
FORM_KEY = "_situation"
KEY = r"^[a-z][a-z0-9_]{0,39}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MaterialChoice(_Model):
    code: str = Field(min_length=1, max_length=20)
    required: bool = True


class Option(_Model):
    value: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    label: str = Field(min_length=1, max_length=100)
    materials: list[MaterialChoice] = Field(default_factory=list, max_length=100)
    fields: list[str] = Field(default_factory=list, max_length=200)
    steps: list[str] = Field(default_factory=list, max_length=200)


class Question(_Model):
    key: str = Field(pattern=KEY)
    label: str = Field(min_length=1, max_length=100)
    options: list[Option] = Field(min_length=2, max_length=20)


class Situations(_Model):
    questions: list[Question] = Field(min_length=1, max_length=10)


@dataclass(frozen=True)
class Applied:
    """What applies for one set of answers."""

    form_schema: dict[str, Any]
    materials: list[dict[str, Any]]
    skipped_steps: list[str]
    answers: dict[str, str]


def parse_situations(raw: object) -> Situations:
    """The section parsed; ``InvalidInput`` (``situations_invalid``) with every shape problem in Chinese."""
    try:
        return Situations.model_validate(raw)
    except ValidationError as exc:
        problems = [FieldProblem(f"situations.{p.field}", p.message, p.code) for p in problems_from(exc.errors())]
        raise InvalidInput(code="situations_invalid", detail=f"办理情形有 {len(problems)} 处问题",
                           errors=problems) from exc


def situation_problems(
    raw: object, *, form_schema: Mapping[str, Any], materials: list[Any], steps: Mapping[str, str]
) -> list[FieldProblem]:
    """Every problem of a version's ``situations`` against its form, materials and process steps (id → name)."""
    try:
        situations = parse_situations(raw)
    except InvalidInput as exc:
        return exc.errors
    problems: list[FieldProblem] = []
    fields = {f["key"] for f in form_schema.get("fields", [])}
    codes = {m["code"] for m in materials}
    keys: set[str] = set()
    for q, question in enumerate(situations.questions):
        path = f"situations.questions[{q}]"
        if question.key in keys:
            problems.append(FieldProblem(f"{path}.key", f"问题编码重复：{question.key}", "duplicate_question"))
        keys.add(question.key)
        values: set[str] = set()
        for o, option in enumerate(question.options):
            where = f"{path}.options[{o}]"
            name = f"“{question.label}”的选项“{option.label}”"
            if option.value in values:
                problems.append(FieldProblem(f"{where}.value", f"{name}的值重复：{option.value}", "duplicate_option"))
            values.add(option.value)
            if not (option.materials or option.fields or option.steps):
                problems.append(FieldProblem(where, f"{name}没有选择任何材料、字段或环节", "option_selects_nothing"))
            problems += [FieldProblem(f"{where}.materials", f"{name}选择了不存在的材料：{m.code}", "unknown_material")
                         for m in option.materials if m.code not in codes]
            problems += [FieldProblem(f"{where}.fields", f"{name}选择了不存在的表单字段：{k}", "unknown_field")
                         for k in option.fields if k not in fields]
            problems += [FieldProblem(f"{where}.steps", f"{name}选择了不存在的环节：{s}", "unknown_step")
                         for s in option.steps if s not in steps]
    return problems


def answer_problems(situations: Situations, answers: Mapping[str, Any]) -> list[FieldProblem]:
    """Each question must be answered with one of its options; unknown questions are refused."""
    problems = []
    known = {q.key for q in situations.questions}
    for key in answers:
        if key not in known:
            problems.append(FieldProblem(f"situation.{key}", f"没有这个办理情形问题：{key}", "unknown_question"))
    for question in situations.questions:
        value = answers.get(question.key)
        if value in (None, ""):
            problems.append(FieldProblem(f"situation.{question.key}", f"请回答“{question.label}”", "required"))
        elif value not in {o.value for o in question.options}:
            problems.append(FieldProblem(f"situation.{question.key}", f"“{question.label}”没有这个选项", "bad_option"))
    return problems


def apply(situations: Situations, answers: Mapping[str, str], *, form_schema: Mapping[str, Any],
          materials: list[Any]) -> Applied:
    """The form schema, materials and skipped steps for answers already checked by ``answer_problems``."""
    chosen = [o for q in situations.questions for o in q.options if answers.get(q.key) == o.value]
    every = [o for q in situations.questions for o in q.options]
    governed_fields = {k for o in every for k in o.fields}
    governed_materials = {m.code for o in every for m in o.materials}
    governed_steps = {s for o in every for s in o.steps}
    selected_fields = {k for o in chosen for k in o.fields}
    required: dict[str, bool] = {}
    for o in chosen:
        for m in o.materials:
            required[m.code] = required.get(m.code, False) or m.required
    kept_materials = []
    for material in materials:
        code = material["code"]
        if code not in governed_materials:
            kept_materials.append(material)
        elif code in required:
            kept_materials.append({**material, "required": required[code]})
    keep = [f["key"] for f in form_schema.get("fields", [])
            if f["key"] not in governed_fields or f["key"] in selected_fields]
    fields, _ = trim_fields(list(form_schema.get("fields", [])), keep=keep,
                            materials={m["code"] for m in kept_materials})
    skipped = sorted(governed_steps - {s for o in chosen for s in o.steps})
    return Applied(form_schema={**form_schema, "fields": fields}, materials=kept_materials, skipped_steps=skipped,
                   answers={q.key: str(answers[q.key]) for q in situations.questions})


def labels(situations: Situations, answers: Mapping[str, str]) -> list[tuple[str, str]]:
    """(question, chosen option) labels for showing a case's answers."""
    shown = []
    for question in situations.questions:
        option = next((o for o in question.options if o.value == answers.get(question.key)), None)
        if option is not None:
            shown.append((question.label, option.label))
    return shown


def trim_fields(
    fields: list[dict[str, Any]], *, keep: Iterable[str] | None, materials: set[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The fields kept (those in ``keep``, or all), less the file fields of dropped materials and the fields
    shown only by a dropped field (transitively); and the keys dropped, in form order."""
    wanted = None if keep is None else set(keep)
    kept: list[dict[str, Any]] = []
    present: set[str] = set()
    for f in fields:
        if wanted is not None and f["key"] not in wanted:
            continue
        if f.get("type") == "file" and f.get("material") not in materials:
            continue
        shown_by = (f.get("visible_when") or {}).get("field")
        if shown_by is not None and shown_by not in present:
            continue  # visible_when names an earlier field, so one pass in order is transitive
        kept.append(f)
        present.add(f["key"])
    return kept, [f["key"] for f in fields if f["key"] not in present]
