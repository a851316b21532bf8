"""Validating form data against a parsed schema: cleaned values and every field error."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from xietong.catalog.forms.model import (
    _DATE_RE,
    _INT_RE,
    _MAX_NUMBER_STRING,
    _NUMBER_RE,
    NUMBER_LIMIT,
    ROWS_LIMIT,
    TEXT_LIMIT,
    DateField,
    FieldError,
    FileField,
    FormSchema,
    NumberField,
    SelectField,
    TableField,
    TextField,
    _AnyField,
    _ScalarField,
)
from xietong.catalog.forms.schema import (
    _fmt_num,
    _is_date,
    _show,
)

# ---------------------------------------------------------------------------
# Form data validation
# ---------------------------------------------------------------------------


class _Missing:
    pass


_MISSING = _Missing()


def _is_blank(value: object) -> bool:
    if value is None or value is _MISSING:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list) and not value


def _bad_char(text: str, multiline: bool) -> str | None:
    for ch in text:
        if ch == "\t":
            continue
        if ch == "\n":
            if not multiline:
                return "不能包含换行"
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
            return "包含无效字符"
    return None


def _clean_text(f: TextField, key: str, value: object, errors: list[FieldError]) -> object:
    if not isinstance(value, str):
        errors.append(FieldError(key, "应填写文字", "bad_type"))
        return _MISSING
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    n = len(errors)
    bad = _bad_char(text, f.multiline)
    if bad:
        errors.append(FieldError(key, bad, "bad_pattern"))
    max_length = f.max_length if f.max_length is not None else TEXT_LIMIT
    if f.min_length is not None and len(text) < f.min_length:
        errors.append(FieldError(key, f"长度不能少于 {f.min_length} 个字", "too_short"))
    if len(text) > max_length:
        errors.append(FieldError(key, f"长度不能超过 {max_length} 个字", "too_long"))
    elif not bad and f.pattern and re.fullmatch(f.pattern, text) is None:
        errors.append(FieldError(key, f.pattern_message or "格式不正确", "bad_pattern"))
    return text if len(errors) == n else _MISSING


def _clean_number(f: NumberField, key: str, value: object, errors: list[FieldError]) -> object:
    num: int | float
    if isinstance(value, bool):
        errors.append(FieldError(key, "应填写数字", "bad_type"))
        return _MISSING
    if isinstance(value, int):
        num = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            errors.append(FieldError(key, "应填写有效的数字", "bad_type"))
            return _MISSING
        num = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_NUMBER_STRING or not _NUMBER_RE.fullmatch(text):
            errors.append(FieldError(key, "应填写数字", "bad_type"))
            return _MISSING
        num = int(text) if _INT_RE.fullmatch(text) else float(text)
    else:
        errors.append(FieldError(key, "应填写数字", "bad_type"))
        return _MISSING
    if num > NUMBER_LIMIT:
        errors.append(FieldError(key, "超出允许的数值范围", "too_large"))
        return _MISSING
    if num < -NUMBER_LIMIT:
        errors.append(FieldError(key, "超出允许的数值范围", "too_small"))
        return _MISSING
    if f.integer and isinstance(num, float):
        if not num.is_integer():
            errors.append(FieldError(key, "应填写整数", "not_integer"))
            return _MISSING
        num = int(num)
    if f.min is not None and num < f.min:
        errors.append(FieldError(key, f"不能小于 {_fmt_num(f.min)}", "too_small"))
        return _MISSING
    if f.max is not None and num > f.max:
        errors.append(FieldError(key, f"不能大于 {_fmt_num(f.max)}", "too_large"))
        return _MISSING
    return num


def _clean_date(f: DateField, key: str, value: object, errors: list[FieldError]) -> object:
    if not isinstance(value, str):
        errors.append(FieldError(key, "应填写日期（YYYY-MM-DD）", "bad_type"))
        return _MISSING
    text = value.strip()
    if not _DATE_RE.fullmatch(text):
        errors.append(FieldError(key, "日期格式应为 YYYY-MM-DD", "bad_date"))
        return _MISSING
    if not _is_date(text):
        errors.append(FieldError(key, "不是有效的日期", "bad_date"))
        return _MISSING
    # ISO dates compare correctly as strings.
    if f.min is not None and text < f.min:
        errors.append(FieldError(key, f"不能早于 {f.min}", "too_small"))
        return _MISSING
    if f.max is not None and text > f.max:
        errors.append(FieldError(key, f"不能晚于 {f.max}", "too_large"))
        return _MISSING
    return text


def _clean_select(f: SelectField, key: str, value: object, errors: list[FieldError]) -> object:
    allowed = {o.value for o in f.options}
    if not f.multiple:
        if not isinstance(value, str):
            errors.append(FieldError(key, "应为选项值（文字）", "bad_type"))
            return _MISSING
        choice = value.strip()
        if choice not in allowed:
            errors.append(FieldError(key, f"不是有效的选项：{_show(choice)}", "bad_choice"))
            return _MISSING
        return choice
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(FieldError(key, "应为选项值列表", "bad_type"))
        return _MISSING
    chosen: list[str] = []
    bad: list[str] = []
    for v in value:
        v = v.strip()
        if v not in allowed:
            bad.append(_show(v))
        elif v not in chosen:
            chosen.append(v)
    if bad:
        errors.append(FieldError(key, f"不是有效的选项：{'、'.join(bad[:5])}", "bad_choice"))
        return _MISSING
    return chosen


def _clean_file(key: str, value: object, errors: list[FieldError]) -> object:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in items):
        errors.append(FieldError(key, "应为附件编号（正整数）或附件编号列表", "bad_type"))
        return _MISSING
    ids: list[int] = []
    for v in items:
        if v not in ids:
            ids.append(v)
    return ids


def _clean_scalar(f: _ScalarField, key: str, value: object, errors: list[FieldError]) -> object:
    if isinstance(f, TextField):
        return _clean_text(f, key, value, errors)
    if isinstance(f, NumberField):
        return _clean_number(f, key, value, errors)
    if isinstance(f, DateField):
        return _clean_date(f, key, value, errors)
    return _clean_select(f, key, value, errors)


def _clean_field(f: _AnyField, key: str, value: object, errors: list[FieldError]) -> object:
    if _is_blank(value):
        if f.required:
            errors.append(FieldError(key, "此项为必填项", "required"))
        return _MISSING
    if isinstance(f, FileField):
        return _clean_file(key, value, errors)
    if isinstance(f, TableField):
        return _clean_table(f, key, value, errors)
    return _clean_scalar(f, key, value, errors)


def _clean_object(fields: list[Any], prefix: str, data: dict[Any, Any], errors: list[FieldError]) -> dict[str, Any]:
    """Clean one object (the form or a table row), appending its errors."""
    cleaned: dict[str, Any] = {}
    known: set[str] = set()
    for f in fields:
        known.add(f.key)
        key = f"{prefix}.{f.key}" if prefix else f.key
        value = _clean_field(f, key, data.get(f.key, _MISSING), errors)
        if value is not _MISSING:
            cleaned[f.key] = value
    for k in data:
        if k not in known:
            name = k if isinstance(k, str) else repr(k)
            key = f"{prefix}.{name}" if prefix else name
            errors.append(FieldError(key, f"未知字段：{_show(name)}", "unknown_field"))
    return cleaned


def _clean_table(f: TableField, key: str, value: object, errors: list[FieldError]) -> object:
    if not isinstance(value, list):
        errors.append(FieldError(key, "应为表格行列表", "bad_type"))
        return _MISSING
    n = len(errors)
    max_rows = f.max_rows if f.max_rows is not None else ROWS_LIMIT
    if f.min_rows is not None and len(value) < f.min_rows:
        errors.append(FieldError(key, f"至少需要 {f.min_rows} 行", "too_few_rows"))
    if len(value) > max_rows:
        errors.append(FieldError(key, f"最多 {max_rows} 行", "too_many_rows"))
    rows: list[dict[str, Any]] = []
    for i, row in enumerate(value[:max_rows]):
        rkey = f"{key}[{i}]"
        if not isinstance(row, dict):
            errors.append(FieldError(rkey, "每一行应为对象", "bad_type"))
            continue
        rows.append(_clean_object(f.columns, rkey, row, errors))
    return rows if len(errors) == n else _MISSING


def validate_form(schema: FormSchema, data: object) -> tuple[dict[str, Any], list[FieldError]]:
    """Validate form data; return (cleaned data of the valid fields, every error found).

    A field whose ``visible_when`` does not hold is hidden: it is neither required nor kept.
    """
    if not isinstance(data, dict):
        return {}, [FieldError("", "表单数据应为 JSON 对象", "bad_type")]
    errors: list[FieldError] = []
    hidden = hidden_fields(schema, data)
    shown = [f for f in schema.fields if f.key not in hidden]
    visible_data = {k: v for k, v in data.items() if k not in hidden}
    return _clean_object(shown, "", visible_data, errors), errors


def hidden_fields(schema: FormSchema, data: dict[Any, Any]) -> frozenset[str]:
    """The keys of the fields whose display condition the data does not meet (a hidden field hides its followers)."""
    hidden: set[str] = set()
    for f in schema.fields:
        rule = f.visible_when
        if rule is None:
            continue
        value = None if rule.field in hidden else data.get(rule.field)
        values = value if isinstance(value, list) else [value]
        if not any(v is not None and str(v).strip() in rule.equals for v in values):
            hidden.add(f.key)
    return frozenset(hidden)


def attachment_ids(schema: FormSchema, cleaned: dict[str, Any]) -> dict[str, list[int]]:
    """Map material code to the attachment ids referenced by cleaned form data."""
    result: dict[str, list[int]] = {}
    for f in schema.file_fields():
        for att in cleaned.get(f.key) or []:
            ids = result.setdefault(f.material, [])
            if att not in ids:
                ids.append(att)
    return result
