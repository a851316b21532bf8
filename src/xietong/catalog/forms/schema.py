"""Parsing and checking form schemas and material lists: every problem at once, in Chinese."""

from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any

from pydantic import (
    ValidationError,
)

from xietong.catalog.forms.model import (
    _DATE_RE,
    _FIELD_ADAPTER,
    _MATERIAL_ADAPTER,
    _SHOWN_VALUE_LENGTH,
    ALLOWED_FORMATS,
    FIELD_TYPES,
    KEY_RE,
    MATERIAL_CODE_RE,
    MAX_COLUMNS,
    MAX_FIELDS,
    MAX_HELP_LENGTH,
    MAX_LABEL_LENGTH,
    MAX_MATERIALS,
    MAX_NOTE_LENGTH,
    MAX_OPTION_LENGTH,
    MAX_OPTIONS,
    MAX_PATTERN_LENGTH,
    MAX_PLACEHOLDER_LENGTH,
    MAX_SHARED_KIND_LENGTH,
    MAX_SIZE_MB_RANGE,
    MAX_UNIT_LENGTH,
    MAX_VISIBLE_VALUES,
    NUMBER_LIMIT,
    ROWS_LIMIT,
    SCHEMA_ID,
    TEXT_LIMIT,
    DateField,
    FileField,
    FormSchema,
    FormSchemaError,
    Material,
    NumberField,
    SchemaProblem,
    SelectField,
    TableField,
    TextField,
    _AnyField,
)

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
            if col.visible_when is not None or col.prefill is not None:
                p.append(SchemaProblem(_join(cpath, i), "表格列不能设置显示条件或预填来源"))
        _duplicates(p, [(_join(cpath, i), c.key) for i, c in enumerate(f.columns)])
    return p


def _schema_problems(schema: FormSchema) -> list[SchemaProblem]:
    p: list[SchemaProblem] = []
    if len(schema.fields) > MAX_FIELDS:
        p.append(SchemaProblem("fields", f"字段数量不能超过 {MAX_FIELDS} 个"))
    for i, f in enumerate(schema.fields):
        p.extend(_field_problems(f, f"fields[{i}]"))
    _duplicates(p, [(f"fields[{i}]", f.key) for i, f in enumerate(schema.fields)])
    p.extend(_condition_problems(schema.fields))
    return p


def _condition_problems(fields: list[Any]) -> list[SchemaProblem]:
    """A field's visibility depends on an earlier text, number, date or select field; prefill suits simple fields."""
    p: list[SchemaProblem] = []
    earlier: dict[str, _AnyField] = {}
    for i, f in enumerate(fields):
        path = f"fields[{i}]"
        rule = f.visible_when
        if rule is not None:
            vpath = _join(path, "visible_when")
            source = earlier.get(rule.field)
            if source is None:
                p.append(SchemaProblem(_join(vpath, "field"), f"显示条件只能依据排在前面的字段：{_show(rule.field)}"))
            elif isinstance(source, (FileField, TableField)):
                p.append(SchemaProblem(_join(vpath, "field"), f"显示条件不能依据附件或表格字段：{_show(rule.field)}"))
            if not rule.equals:
                p.append(SchemaProblem(_join(vpath, "equals"), "显示条件至少需要一个取值"))
            elif len(rule.equals) > MAX_VISIBLE_VALUES:
                p.append(SchemaProblem(_join(vpath, "equals"), f"显示条件的取值不能超过 {MAX_VISIBLE_VALUES} 个"))
            elif isinstance(source, SelectField):
                known = {o.value for o in source.options}
                for value in rule.equals:
                    if value not in known:
                        p.append(SchemaProblem(_join(vpath, "equals"), f"“{source.label}”没有这个选项：{_show(value)}"))
        if f.prefill is not None and isinstance(f, (FileField, TableField)):
            p.append(SchemaProblem(_join(path, "prefill"), "附件和表格字段不能预填"))
        earlier[f.key] = f
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
        if not problems:
            problems.extend(_condition_problems(parsed))
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
        if m.shared_kind is not None:
            _text_attr(problems, path, m.shared_kind, "shared_kind", MAX_SHARED_KIND_LENGTH, required=True)
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
