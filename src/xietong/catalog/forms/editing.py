"""The form designer's edits of an ``xietong.form/1`` schema: add, move, remove and configure fields.

Each function takes the schema as JSON and returns a new one (the input is not changed); the caller saves it
through ``catalog.drafts.save_content``, which parses it whole, so an edit that would leave the schema invalid
is refused there with every problem. ``field_from_inputs`` turns the designer's text inputs (all strings, as a
form post sends them) into a field's JSON, naming each input it cannot read.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from xietong.catalog.forms.model import FIELD_TYPES, KEY_RE, PREFILL_SOURCES, FormSchemaError, SchemaProblem

# The keys the designer configures, per type (the rest of a field is kept as it is, e.g. a table's columns).
_COMMON = ("label", "required", "help", "visible_when", "prefill")
_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": ("placeholder", "min_length", "max_length", "pattern", "pattern_message", "multiline"),
    "number": ("placeholder", "min", "max", "integer", "unit"),
    "date": ("placeholder", "min", "max"),
    "select": ("placeholder", "multiple", "options"),
    "file": ("material",),
    "table": ("min_rows", "max_rows"),
}
TYPE_LABELS = {"text": "文字", "number": "数字", "date": "日期", "select": "选择", "file": "附件", "table": "表格"}
PREFILL_LABELS = {
    "person.name": "申请人姓名", "person.phone": "申请人电话", "applicant_unit.name": "申请单位名称",
    "applicant_unit.uscc": "申请单位统一社会信用代码", "last_application": "上次申请的填写内容",
}


def _fields(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    fields = schema.get("fields")
    return copy.deepcopy(list(fields)) if isinstance(fields, list) else []


def _index(fields: list[dict[str, Any]], key: str) -> int:
    for i, field in enumerate(fields):
        if field.get("key") == key:
            return i
    raise FormSchemaError([SchemaProblem("fields", f"没有这个字段：{key}")])


def _schema(fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": "xietong.form/1", "fields": fields}


def add_field(schema: Mapping[str, Any], *, type_: str, key: str, label: str, material: str = "") -> dict[str, Any]:
    """A new field at the end, with what its type needs to be valid (a select gets one option to edit, a file
    field the ``material`` it uploads for)."""
    problems = []
    if type_ not in FIELD_TYPES:
        problems.append(SchemaProblem("type", f"不支持的字段类型：{type_}"))
    if not KEY_RE.fullmatch(key):
        problems.append(SchemaProblem("key", "字段标识应以小写字母开头，只含小写字母、数字和下划线，最长 40 个字符"))
    if not label.strip():
        problems.append(SchemaProblem("label", "请填写字段名称"))
    fields = _fields(schema)
    if any(f.get("key") == key for f in fields):
        problems.append(SchemaProblem("key", f"字段标识重复：{key}"))
    if problems:
        raise FormSchemaError(problems)
    field: dict[str, Any] = {"key": key, "label": label.strip(), "type": type_}
    if type_ == "select":
        field["options"] = [{"value": "1", "label": "选项一"}]
    elif type_ == "table":
        field["columns"] = [{"key": "item", "label": "项目", "type": "text"}]
    elif type_ == "file":
        field["material"] = material
    fields.append(field)
    return _schema(fields)


def move_field(schema: Mapping[str, Any], *, key: str, offset: int) -> dict[str, Any]:
    """The field moved ``offset`` places (negative: up), stopping at either end."""
    fields = _fields(schema)
    i = _index(fields, key)
    j = max(0, min(len(fields) - 1, i + offset))
    fields.insert(j, fields.pop(i))
    return _schema(fields)


def remove_field(schema: Mapping[str, Any], *, key: str) -> dict[str, Any]:
    fields = _fields(schema)
    fields.pop(_index(fields, key))
    return _schema(fields)


def replace_field(schema: Mapping[str, Any], *, key: str, field: Mapping[str, Any]) -> dict[str, Any]:
    """The field ``key`` configured as ``field`` (its key and type stay; keys the designer does not edit are kept)."""
    fields = _fields(schema)
    i = _index(fields, key)
    old = fields[i]
    editable = (*_COMMON, *_BY_TYPE.get(str(old.get("type")), ()))
    kept = {k: v for k, v in old.items() if k not in editable}
    fields[i] = {**kept, **{k: v for k, v in field.items() if k in editable and v is not None}}
    return _schema(fields)


def field_from_inputs(type_: str, inputs: Mapping[str, str]) -> dict[str, Any]:
    """A field's configurable keys from the designer's inputs; an input left blank is left out."""
    problems: list[SchemaProblem] = []
    out: dict[str, Any] = {"label": inputs.get("label", "").strip(), "required": _flag(inputs, "required")}
    for name in ("help", "placeholder", "pattern", "pattern_message", "unit", "material"):
        value = inputs.get(name, "").strip()
        if value and name in ("help", *_BY_TYPE.get(type_, ())):
            out[name] = value
    if type_ == "file" and "material" not in out:
        out["material"] = ""
    integers = ("min_length", "max_length") if type_ == "text" else ("min_rows", "max_rows") if type_ == "table" else ()
    for name in integers:
        _number(inputs, name, out, problems, integer=True)
    if type_ == "number":
        for name in ("min", "max"):
            _number(inputs, name, out, problems, integer=False)
        out["integer"] = _flag(inputs, "integer")
    if type_ == "date":
        for name in ("min", "max"):
            if inputs.get(name, "").strip():
                out[name] = inputs[name].strip()
    if type_ == "text":
        out["multiline"] = _flag(inputs, "multiline")
    if type_ == "select":
        out["multiple"] = _flag(inputs, "multiple")
        out["options"] = _options(inputs.get("options", ""), problems)
    condition_field = inputs.get("visible_field", "").strip()
    if condition_field:
        values = [v.strip() for v in inputs.get("visible_values", "").replace("，", ",").split(",") if v.strip()]
        out["visible_when"] = {"field": condition_field, "equals": values}
    prefill = inputs.get("prefill", "").strip()
    if prefill:
        if prefill not in PREFILL_SOURCES:
            problems.append(SchemaProblem("prefill", f"不支持的预填来源：{prefill}"))
        else:
            out["prefill"] = prefill
    if problems:
        raise FormSchemaError(problems)
    return out


def _flag(inputs: Mapping[str, str], name: str) -> bool:
    return inputs.get(name, "") in ("on", "true", "1")


def _number(inputs: Mapping[str, str], name: str, out: dict[str, Any], problems: list[SchemaProblem], *,
            integer: bool) -> None:
    text = inputs.get(name, "").strip()
    if not text:
        return
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        problems.append(SchemaProblem(name, f"{name} 应为{'整数' if integer else '数字'}：{text[:30]}"))
        return
    out[name] = int(value) if not integer and float(value).is_integer() else value


def _options(text: str, problems: list[SchemaProblem]) -> list[dict[str, str]]:
    """One option a line, ``value=label`` (or just the label, which is then the value too)."""
    options = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        value, sep, label = line.partition("=")
        if not sep:
            value = label = line
        if not value.strip() or not label.strip():
            problems.append(SchemaProblem("options", f"第 {n} 行选项应写成“值=名称”：{line[:30]}"))
            continue
        options.append({"value": value.strip(), "label": label.strip()})
    return options


def options_text(field: Mapping[str, Any]) -> str:
    """A select's options as the designer's textarea shows them."""
    return "\n".join(f"{o['value']}={o['label']}" for o in field.get("options") or [])
