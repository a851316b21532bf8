"""Form schemas (``xietong.form/1``), material lists and form-data validation.

A matter version (事项版本) carries two JSON documents:

* a **form schema** describing the fields an applicant fills in, parsed by
  :func:`parse_form_schema` into a :class:`FormSchema`;
* a **materials list** describing the attachments an applicant uploads,
  parsed by :func:`parse_materials` into a list of :class:`Material`.

An application (case) then submits form data, checked by :func:`validate_form`,
which returns the cleaned data together with *every* :class:`FieldError` found.

Schema problems are reported all at once as :class:`FormSchemaError`, whose
``problems`` are :class:`SchemaProblem` items carrying a path such as
``fields[3].options`` and a Chinese message.

This module is self-contained: it depends only on the standard library and
pydantic.  See ``docs/form-schema.md`` for the format and every rule.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

__all__ = [
    "ALLOWED_FORMATS",
    "SCHEMA_ID",
    "ColumnField",
    "DateField",
    "FieldDef",
    "FieldError",
    "FileField",
    "FormSchema",
    "FormSchemaError",
    "Material",
    "NumberField",
    "SchemaProblem",
    "SelectField",
    "SelectOption",
    "TableField",
    "TextField",
    "attachment_ids",
    "check_file_fields",
    "dump_form_schema",
    "parse_form_schema",
    "parse_materials",
    "validate_form",
]

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

SCHEMA_ID = "xietong.form/1"
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
MATERIAL_CODE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,19}")
ALLOWED_FORMATS: frozenset[str] = frozenset({"pdf", "ofd", "doc", "docx", "xls", "xlsx", "jpg", "png", "zip", "txt"})
FIELD_TYPES: tuple[str, ...] = ("text", "number", "date", "select", "file", "table")
COLUMN_TYPES: tuple[str, ...] = ("text", "number", "date", "select")

MAX_FIELDS = 200
MAX_COLUMNS = 50
MAX_OPTIONS = 500
MAX_MATERIALS = 100
MAX_PATTERN_LENGTH = 200
MAX_LABEL_LENGTH = 100
MAX_HELP_LENGTH = 500
MAX_PLACEHOLDER_LENGTH = 100
MAX_UNIT_LENGTH = 20
MAX_OPTION_LENGTH = 100
MAX_NOTE_LENGTH = 500
#: Hard upper bound on text length; also the default when ``max_length`` is absent.
TEXT_LIMIT = 10_000
#: Hard upper bound on table rows; also the default when ``max_rows`` is absent.
ROWS_LIMIT = 1_000
#: Every number (schema bounds and submitted values) must satisfy ``abs(x) <= NUMBER_LIMIT``.
NUMBER_LIMIT = 10**15
MAX_SIZE_MB_RANGE = (1, 200)

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INT_RE = re.compile(r"[+-]?[0-9]+")
_MAX_NUMBER_STRING = 64
_SHOWN_VALUE_LENGTH = 30


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaProblem:
    """One problem in a form schema or materials list."""

    path: str
    message: str


class FormSchemaError(ValueError):
    """A form schema or materials list is invalid; ``problems`` lists every problem."""

    def __init__(self, problems: list[SchemaProblem]) -> None:
        self.problems: list[SchemaProblem] = list(problems)
        super().__init__("；".join(f"{p.path or '（根）'}：{p.message}" for p in self.problems) or "表单定义无效")


@dataclass(frozen=True)
class FieldError:
    """One problem in submitted form data (``key`` may be ``items[2].price``)."""

    key: str
    message: str
    code: str


# ---------------------------------------------------------------------------
# Schema models
# ---------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class _BaseField(_Model):
    key: str
    label: str
    required: bool = False
    help: str | None = None


class TextField(_BaseField):
    """Free text; ``pattern`` must match the whole stripped value."""

    type: Literal["text"]
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_message: str | None = None
    multiline: bool = False
    placeholder: str | None = None


class NumberField(_BaseField):
    """A number, optionally restricted to integers and to ``[min, max]``."""

    type: Literal["number"]
    min: float | None = None
    max: float | None = None
    integer: bool = False
    unit: str | None = None
    placeholder: str | None = None


class DateField(_BaseField):
    """An ISO date ``YYYY-MM-DD``, optionally within ``[min, max]``."""

    type: Literal["date"]
    min: str | None = None
    max: str | None = None
    placeholder: str | None = None


class SelectOption(_Model):
    """One choice of a select field."""

    value: str
    label: str


class SelectField(_BaseField):
    """One choice (or several with ``multiple``) among ``options``."""

    type: Literal["select"]
    multiple: bool = False
    options: list[SelectOption]
    placeholder: str | None = None


class FileField(_BaseField):
    """Attachments for the material ``material``; values are attachment ids."""

    type: Literal["file"]
    material: str


ColumnField = Annotated[
    TextField | NumberField | DateField | SelectField,
    Field(discriminator="type"),
]


class TableField(_BaseField):
    """Rows of cells; each column is a text, number, date or select field."""

    type: Literal["table"]
    min_rows: int | None = None
    max_rows: int | None = None
    columns: list[ColumnField]


FieldDef = Annotated[
    TextField | NumberField | DateField | SelectField | FileField | TableField,
    Field(discriminator="type"),
]

_AnyField = TextField | NumberField | DateField | SelectField | FileField | TableField
_ScalarField = TextField | NumberField | DateField | SelectField


class FormSchema(_Model):
    """A parsed ``xietong.form/1`` form schema."""

    schema_id: Literal["xietong.form/1"] = Field(alias="schema")
    fields: list[FieldDef]

    @model_validator(mode="after")
    def _consistent(self) -> FormSchema:
        problems = _schema_problems(self)
        if problems:
            raise ValueError("；".join(f"{p.path}：{p.message}" for p in problems))
        return self

    def get(self, key: str) -> _AnyField | None:
        """Return the top-level field with this key, or None."""
        for f in self.fields:
            if f.key == key:
                return f
        return None

    def file_fields(self) -> list[FileField]:
        """Return the file fields, in schema order."""
        return [f for f in self.fields if isinstance(f, FileField)]


class Material(_Model):
    """One entry of a matter version's materials list."""

    code: str
    name: str
    required: bool = False
    formats: list[str]
    max_size_mb: int = 20
    note: str = ""

    @property
    def max_size_bytes(self) -> int:
        """Maximum attachment size in bytes."""
        return self.max_size_mb * 1024 * 1024

    def allows_format(self, ext: str) -> bool:
        """Whether a file extension (with or without dot, any case) is accepted."""
        return ext.lower().lstrip(".") in self.formats


_FIELD_ADAPTER: TypeAdapter[Any] = TypeAdapter(FieldDef)
_MATERIAL_ADAPTER: TypeAdapter[Material] = TypeAdapter(Material)


# ---------------------------------------------------------------------------
# Helpers: paths, messages, pydantic translation
# ---------------------------------------------------------------------------


def _join(prefix: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{prefix}[{part}]"
    return f"{prefix}.{part}" if prefix else part


def _fmt_num(x: float | int) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return str(x)


def _show(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    if len(text) > _SHOWN_VALUE_LENGTH:
        text = text[:_SHOWN_VALUE_LENGTH] + "…"
    return text


_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "缺少必填项",
    "string_type": "应为字符串",
    "bool_type": "应为布尔值（true/false）",
    "int_type": "应为整数",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字",
    "list_type": "应为列表",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "dict_type": "应为对象",
    "union_tag_not_found": "缺少字段类型 type",
}


def _translate(exc: ValidationError, prefix: str, tags: frozenset[str]) -> list[SchemaProblem]:
    problems: list[SchemaProblem] = []
    for err in exc.errors():
        path = prefix
        loc = err["loc"]
        typ = err["type"]
        for i, part in enumerate(loc):
            # Discriminated unions insert the tag ("text", …) into the location.
            after_index = i == 0 or isinstance(loc[i - 1], int)
            if isinstance(part, str) and after_index and part in tags:
                continue
            path = _join(path, part)
        ctx = err.get("ctx") or {}
        if typ == "extra_forbidden":
            message = f"不允许的键：{loc[-1] if loc else ''}"
        elif typ == "union_tag_invalid":
            expected = "、".join(t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(","))
            message = f"不支持的字段类型：{_show(ctx.get('tag'))}（可用：{expected}）"
            path = _join(path, "type")
        elif typ == "union_tag_not_found":
            message = _PYDANTIC_MESSAGES[typ]
            path = _join(path, "type")
        elif typ == "literal_error":
            message = f"取值应为 {ctx.get('expected', '')}"
        else:
            message = _PYDANTIC_MESSAGES.get(typ, f"取值无效（{err['msg']}）")
        problems.append(SchemaProblem(path, message))
    return problems


def _decode(raw: object) -> object:
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormSchemaError([SchemaProblem("", "不是有效的 UTF-8 文本")]) from None
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            raise FormSchemaError([SchemaProblem("", "不是有效的 JSON")]) from None
    return raw


def _is_date(text: str) -> bool:
    if not _DATE_RE.fullmatch(text):
        return False
    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------
# Schema consistency rules
# ---------------------------------------------------------------------------


def _text_attr(
    problems: list[SchemaProblem],
    path: str,
    value: str | None,
    name: str,
    limit: int,
    *,
    required: bool = False,
) -> None:
    if value is None:
        return
    if required and not value.strip():
        problems.append(SchemaProblem(_join(path, name), "不能为空"))
    elif len(value) > limit:
        problems.append(SchemaProblem(_join(path, name), f"长度不能超过 {limit} 个字"))


def _check_key(problems: list[SchemaProblem], path: str, key: str) -> None:
    if not KEY_RE.fullmatch(key):
        problems.append(
            SchemaProblem(
                _join(path, "key"),
                f"字段标识格式不正确：{_show(key)}（应以小写字母开头，仅含小写字母、数字和下划线，最长 40 个字符）",
            )
        )


def _duplicates(problems: list[SchemaProblem], keyed: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for path, key in keyed:
        if key in seen:
            problems.append(SchemaProblem(_join(path, "key"), f"字段标识重复：{key}"))
        seen.add(key)


def _range(
    problems: list[SchemaProblem],
    path: str,
    lo_name: str,
    lo: int | None,
    hi_name: str,
    hi: int | None,
    lo_min: int,
    hi_min: int,
    limit: int,
) -> None:
    if lo is not None and not lo_min <= lo <= limit:
        problems.append(SchemaProblem(_join(path, lo_name), f"应在 {lo_min} 到 {limit} 之间"))
    if hi is not None and not hi_min <= hi <= limit:
        problems.append(SchemaProblem(_join(path, hi_name), f"应在 {hi_min} 到 {limit} 之间"))
    if lo is not None and hi is not None and lo > hi:
        problems.append(SchemaProblem(_join(path, lo_name), f"{lo_name} 不能大于 {hi_name}"))


def _field_problems(f: _AnyField, path: str) -> list[SchemaProblem]:
    """Consistency problems of one structurally valid field (and its columns)."""
    p: list[SchemaProblem] = []
    _check_key(p, path, f.key)
    _text_attr(p, path, f.label, "label", MAX_LABEL_LENGTH, required=True)
    _text_attr(p, path, f.help, "help", MAX_HELP_LENGTH)
    if not isinstance(f, (FileField, TableField)):
        _text_attr(p, path, f.placeholder, "placeholder", MAX_PLACEHOLDER_LENGTH)

    if isinstance(f, TextField):
        _range(p, path, "min_length", f.min_length, "max_length", f.max_length, 0, 1, TEXT_LIMIT)
        _text_attr(p, path, f.pattern_message, "pattern_message", MAX_LABEL_LENGTH)
        if f.pattern is not None:
            if len(f.pattern) > MAX_PATTERN_LENGTH:
                p.append(SchemaProblem(_join(path, "pattern"), f"正则表达式不能超过 {MAX_PATTERN_LENGTH} 个字符"))
            elif not f.pattern:
                p.append(SchemaProblem(_join(path, "pattern"), "正则表达式不能为空"))
            else:
                try:
                    re.compile(f.pattern)
                except (re.error, RecursionError, OverflowError) as exc:
                    p.append(SchemaProblem(_join(path, "pattern"), f"正则表达式无效：{exc}"))
        elif f.pattern_message is not None:
            p.append(SchemaProblem(_join(path, "pattern_message"), "未设置 pattern 时不能设置"))
    elif isinstance(f, NumberField):
        _text_attr(p, path, f.unit, "unit", MAX_UNIT_LENGTH)
        for name, bound in (("min", f.min), ("max", f.max)):
            if bound is not None and abs(bound) > NUMBER_LIMIT:
                p.append(SchemaProblem(_join(path, name), f"绝对值不能超过 {_fmt_num(NUMBER_LIMIT)}"))
        if f.min is not None and f.max is not None and f.min > f.max:
            p.append(SchemaProblem(_join(path, "min"), "min 不能大于 max"))
    elif isinstance(f, DateField):
        for name, bound in (("min", f.min), ("max", f.max)):
            if bound is not None and not _is_date(bound):
                p.append(SchemaProblem(_join(path, name), f"日期格式应为 YYYY-MM-DD：{_show(bound)}"))
        if f.min is not None and f.max is not None and _is_date(f.min) and _is_date(f.max) and f.min > f.max:
            p.append(SchemaProblem(_join(path, "min"), "min 不能晚于 max"))
    elif isinstance(f, SelectField):
        opath = _join(path, "options")
        if not f.options:
            p.append(SchemaProblem(opath, "选择字段至少需要一个选项"))
        elif len(f.options) > MAX_OPTIONS:
            p.append(SchemaProblem(opath, f"选项不能超过 {MAX_OPTIONS} 个"))
        seen: set[str] = set()
        for i, opt in enumerate(f.options):
            ip = _join(opath, i)
            if not opt.value or opt.value != opt.value.strip():
                p.append(SchemaProblem(_join(ip, "value"), "选项值不能为空，且首尾不能有空白"))
            elif len(opt.value) > MAX_OPTION_LENGTH:
                p.append(SchemaProblem(_join(ip, "value"), f"长度不能超过 {MAX_OPTION_LENGTH} 个字"))
            _text_attr(p, ip, opt.label, "label", MAX_OPTION_LENGTH, required=True)
            if opt.value in seen:
                p.append(SchemaProblem(_join(ip, "value"), f"选项值重复：{_show(opt.value)}"))
            seen.add(opt.value)
    elif isinstance(f, FileField):
        if not MATERIAL_CODE_RE.fullmatch(f.material):
            p.append(SchemaProblem(_join(path, "material"), f"材料编码格式不正确：{_show(f.material)}"))
    elif isinstance(f, TableField):
        _range(p, path, "min_rows", f.min_rows, "max_rows", f.max_rows, 0, 1, ROWS_LIMIT)
        cpath = _join(path, "columns")
        if not f.columns:
            p.append(SchemaProblem(cpath, "表格至少需要一列"))
        elif len(f.columns) > MAX_COLUMNS:
            p.append(SchemaProblem(cpath, f"表格列数不能超过 {MAX_COLUMNS} 个"))
        for i, col in enumerate(f.columns):
            p.extend(_field_problems(col, _join(cpath, i)))
        _duplicates(p, [(_join(cpath, i), c.key) for i, c in enumerate(f.columns)])
    return p


def _schema_problems(schema: FormSchema) -> list[SchemaProblem]:
    p: list[SchemaProblem] = []
    if len(schema.fields) > MAX_FIELDS:
        p.append(SchemaProblem("fields", f"字段数量不能超过 {MAX_FIELDS} 个"))
    for i, f in enumerate(schema.fields):
        p.extend(_field_problems(f, f"fields[{i}]"))
    _duplicates(p, [(f"fields[{i}]", f.key) for i, f in enumerate(schema.fields)])
    return p


# ---------------------------------------------------------------------------
# Public parsing API
# ---------------------------------------------------------------------------


def parse_form_schema(raw: object) -> FormSchema:
    """Parse a form schema (dict or JSON text); raise FormSchemaError listing every problem."""
    raw = _decode(raw)
    if not isinstance(raw, dict):
        raise FormSchemaError([SchemaProblem("", "表单定义应为 JSON 对象")])
    problems: list[SchemaProblem] = []
    for k in raw:
        if k not in ("schema", "fields"):
            problems.append(SchemaProblem(str(k), f"不允许的键：{_show(k)}"))
    if "schema" not in raw:
        problems.append(SchemaProblem("schema", "缺少必填项"))
    elif not (isinstance(raw["schema"], str) and raw["schema"] == SCHEMA_ID):
        problems.append(SchemaProblem("schema", f"不支持的表单格式：{_show(raw['schema'])}（应为 {SCHEMA_ID}）"))
    parsed: list[Any] = []
    raw_fields = raw.get("fields")
    if "fields" not in raw:
        problems.append(SchemaProblem("fields", "缺少必填项"))
    elif not isinstance(raw_fields, list):
        problems.append(SchemaProblem("fields", "应为列表"))
    else:
        if len(raw_fields) > MAX_FIELDS:
            problems.append(SchemaProblem("fields", f"字段数量不能超过 {MAX_FIELDS} 个"))
        tags = frozenset(FIELD_TYPES)
        keyed: list[tuple[str, str]] = []
        for i, item in enumerate(raw_fields):
            path = f"fields[{i}]"
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                keyed.append((path, item["key"]))
            try:
                field = _FIELD_ADAPTER.validate_python(item)
            except ValidationError as exc:
                problems.extend(_translate(exc, path, tags))
                continue
            problems.extend(_field_problems(field, path))
            parsed.append(field)
        _duplicates(problems, keyed)
    if problems:
        raise FormSchemaError(problems)
    return FormSchema.model_validate({"schema": SCHEMA_ID, "fields": parsed})


def dump_form_schema(schema: FormSchema) -> dict[str, Any]:
    """Return the JSON-compatible dict form of a schema (parses back to an equal schema)."""
    return schema.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_materials(raw: object) -> list[Material]:
    """Parse a materials list (list or JSON text); raise FormSchemaError listing every problem."""
    raw = _decode(raw)
    if not isinstance(raw, list):
        raise FormSchemaError([SchemaProblem("", "材料清单应为 JSON 数组")])
    problems: list[SchemaProblem] = []
    if len(raw) > MAX_MATERIALS:
        problems.append(SchemaProblem("", f"材料数量不能超过 {MAX_MATERIALS} 个"))
    result: list[Material] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"[{i}]"
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            code = item["code"]
            if code in seen:
                problems.append(SchemaProblem(_join(path, "code"), f"材料编码重复：{code}"))
            seen.add(code)
        try:
            m = _MATERIAL_ADAPTER.validate_python(item)
        except ValidationError as exc:
            problems.extend(_translate(exc, path, frozenset()))
            continue
        if not MATERIAL_CODE_RE.fullmatch(m.code):
            problems.append(
                SchemaProblem(
                    _join(path, "code"),
                    f"材料编码格式不正确：{_show(m.code)}"
                    "（应以大写字母开头，仅含大写字母、数字和下划线，最长 20 个字符）",
                )
            )
        _text_attr(problems, path, m.name, "name", MAX_LABEL_LENGTH, required=True)
        _text_attr(problems, path, m.note, "note", MAX_NOTE_LENGTH)
        if not m.formats:
            problems.append(SchemaProblem(_join(path, "formats"), "至少需要一种文件格式"))
        fseen: set[str] = set()
        for j, fmt in enumerate(m.formats):
            fpath = _join(_join(path, "formats"), j)
            if fmt not in ALLOWED_FORMATS:
                problems.append(SchemaProblem(fpath, f"不支持的文件格式：{_show(fmt)}"))
            elif fmt in fseen:
                problems.append(SchemaProblem(fpath, f"文件格式重复：{fmt}"))
            fseen.add(fmt)
        lo, hi = MAX_SIZE_MB_RANGE
        if not lo <= m.max_size_mb <= hi:
            problems.append(SchemaProblem(_join(path, "max_size_mb"), f"应在 {lo} 到 {hi} 之间"))
        result.append(m)
    if problems:
        raise FormSchemaError(problems)
    return result


def check_file_fields(schema: FormSchema, materials: list[Material]) -> list[SchemaProblem]:
    """Return a problem for every file field whose material is not in the list (empty if fine)."""
    codes = {m.code for m in materials}
    return [
        SchemaProblem(f"fields[{i}].material", f"引用的材料不存在：{f.material}")
        for i, f in enumerate(schema.fields)
        if isinstance(f, FileField) and f.material not in codes
    ]


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
    """Validate form data; return (cleaned data of the valid fields, every error found)."""
    if not isinstance(data, dict):
        return {}, [FieldError("", "表单数据应为 JSON 对象", "bad_type")]
    errors: list[FieldError] = []
    return _clean_object(schema.fields, "", data, errors), errors


def attachment_ids(schema: FormSchema, cleaned: dict[str, Any]) -> dict[str, list[int]]:
    """Map material code to the attachment ids referenced by cleaned form data."""
    result: dict[str, list[int]] = {}
    for f in schema.file_fields():
        for att in cleaned.get(f.key) or []:
            ids = result.setdefault(f.material, [])
            if att not in ids:
                ids.append(att)
    return result
