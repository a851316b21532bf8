"""Tests for xietong.catalog.forms: schema parsing, materials, form validation."""

from __future__ import annotations

import copy
import datetime
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xietong.catalog.forms import (
    ALLOWED_FORMATS,
    SCHEMA_ID,
    DateField,
    FieldError,
    FileField,
    FormSchema,
    FormSchemaError,
    Material,
    NumberField,
    SchemaProblem,
    SelectField,
    TableField,
    TextField,
    attachment_ids,
    check_file_fields,
    dump_form_schema,
    parse_form_schema,
    parse_materials,
    validate_form,
)

EXAMPLE: dict[str, Any] = {
    "schema": "xietong.form/1",
    "fields": [
        {
            "key": "title",
            "label": "申请事由",
            "type": "text",
            "required": True,
            "min_length": 2,
            "max_length": 200,
            "pattern": None,
            "multiline": False,
            "help": "简要说明",
            "placeholder": "请输入",
        },
        {
            "key": "amount",
            "label": "申请金额（万元）",
            "type": "number",
            "required": True,
            "min": 0,
            "max": 100000,
            "integer": False,
            "unit": "万元",
        },
        {"key": "start_date", "label": "开始日期", "type": "date", "required": False, "min": "2020-01-01"},
        {
            "key": "category",
            "label": "类别",
            "type": "select",
            "required": True,
            "multiple": False,
            "options": [{"value": "a", "label": "甲"}, {"value": "b", "label": "乙"}],
        },
        {"key": "plan", "label": "实施方案", "type": "file", "required": True, "material": "M02"},
        {
            "key": "items",
            "label": "明细",
            "type": "table",
            "required": True,
            "min_rows": 1,
            "max_rows": 3,
            "columns": [
                {"key": "name", "label": "名称", "type": "text", "required": True, "max_length": 20},
                {"key": "price", "label": "单价", "type": "number", "required": True, "min": 0},
                {"key": "qty", "label": "数量", "type": "number", "integer": True, "min": 1, "max": 99},
                {"key": "day", "label": "日期", "type": "date", "max": "2030-12-31"},
                {
                    "key": "kind",
                    "label": "类型",
                    "type": "select",
                    "multiple": True,
                    "options": [{"value": "x", "label": "X"}, {"value": "y", "label": "Y"}],
                },
            ],
        },
        {"key": "note", "label": "备注", "type": "text", "multiline": True},
        {"key": "code", "label": "信用代码", "type": "text", "pattern": "[0-9A-Z]{18}"},
        {"key": "count", "label": "人数", "type": "number", "integer": True},
        {"key": "extra_files", "label": "其他材料", "type": "file", "material": "M03"},
    ],
}

VALID_DATA: dict[str, Any] = {
    "title": "  购置设备  ",
    "amount": "12.5",
    "start_date": "2024-03-01",
    "category": "a",
    "plan": 7,
    "items": [{"name": "电脑", "price": 5000, "qty": "2", "day": "2024-05-01", "kind": ["x", "y", "x"]}],
    "note": "第一行\r\n第二行",
    "code": "91330100MA2XXXXX0X",
    "count": 3.0,
    "extra_files": [8, 9, 8],
}

MATERIALS: list[dict[str, Any]] = [
    {
        "code": "M01",
        "name": "申请函",
        "required": True,
        "formats": ["pdf", "docx"],
        "max_size_mb": 20,
        "note": "",
    },
    {"code": "M02", "name": "实施方案", "required": True, "formats": ["pdf"], "max_size_mb": 50},
    {"code": "M03", "name": "其他材料", "formats": ["zip", "jpg", "png"]},
]


@pytest.fixture(scope="module")
def schema() -> FormSchema:
    return parse_form_schema(EXAMPLE)


def one_field(field: dict[str, Any]) -> FormSchema:
    return parse_form_schema({"schema": SCHEMA_ID, "fields": [field]})


def errors_of(schema: FormSchema, data: object) -> dict[str, str]:
    _, errors = validate_form(schema, data)
    return {e.key: e.code for e in errors}


def problems_of(raw: object) -> dict[str, str]:
    with pytest.raises(FormSchemaError) as info:
        parse_form_schema(raw)
    return {p.path: p.message for p in info.value.problems}


# ---------------------------------------------------------------------------
# Schema parsing
# ---------------------------------------------------------------------------


def test_example_parses_into_typed_fields(schema: FormSchema) -> None:
    kinds = [type(f) for f in schema.fields]
    assert kinds[:6] == [TextField, NumberField, DateField, SelectField, FileField, TableField]
    assert schema.schema_id == SCHEMA_ID
    assert isinstance(schema.get("amount"), NumberField)
    assert schema.get("nope") is None
    assert [f.key for f in schema.file_fields()] == ["plan", "extra_files"]


def test_dump_round_trips(schema: FormSchema) -> None:
    dumped = dump_form_schema(schema)
    assert dumped["schema"] == SCHEMA_ID
    assert parse_form_schema(dumped) == schema
    assert parse_form_schema(json.dumps(dumped, ensure_ascii=False)) == schema
    assert parse_form_schema(json.dumps(dumped).encode()) == schema


def test_empty_form_is_allowed() -> None:
    assert parse_form_schema({"schema": SCHEMA_ID, "fields": []}).fields == []


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ([], "", "JSON 对象"),
        ("{not json", "", "JSON"),
        ({"fields": []}, "schema", "缺少"),
        ({"schema": "xietong.form/2", "fields": []}, "schema", "不支持的表单格式"),
        ({"schema": SCHEMA_ID}, "fields", "缺少"),
        ({"schema": SCHEMA_ID, "fields": {}}, "fields", "列表"),
        ({"schema": SCHEMA_ID, "fields": [], "title": "x"}, "title", "不允许的键"),
    ],
)
def test_top_level_problems(raw: object, path: str, fragment: str) -> None:
    assert fragment in problems_of(raw)[path]


def bad_field(**changes: Any) -> dict[str, Any]:
    field = {"key": "f", "label": "字段", "type": "text"}
    field.update(changes)
    return {"schema": SCHEMA_ID, "fields": [field]}


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        (bad_field(key="Amount"), "fields[0].key", "字段标识格式不正确"),
        (bad_field(key="a" * 41), "fields[0].key", "字段标识格式不正确"),
        (bad_field(key="1a"), "fields[0].key", "字段标识格式不正确"),
        (bad_field(label="  "), "fields[0].label", "不能为空"),
        (bad_field(colour="red"), "fields[0].colour", "不允许的键"),
        (bad_field(required="yes"), "fields[0].required", "布尔值"),
        (bad_field(type="money"), "fields[0].type", "不支持的字段类型：money"),
        (bad_field(min_length=5, max_length=2), "fields[0].min_length", "不能大于 max_length"),
        (bad_field(min_length=-1), "fields[0].min_length", "之间"),
        (bad_field(max_length=0), "fields[0].max_length", "之间"),
        (bad_field(max_length="9"), "fields[0].max_length", "整数"),
        (bad_field(pattern="(abc"), "fields[0].pattern", "正则表达式无效"),
        (bad_field(pattern="a" * 201), "fields[0].pattern", "不能超过 200"),
        (bad_field(pattern_message="x"), "fields[0].pattern_message", "pattern"),
        (bad_field(type="number", min=10, max=1), "fields[0].min", "不能大于 max"),
        (bad_field(type="number", min="1"), "fields[0].min", "数字"),
        (bad_field(type="number", max=math.inf), "fields[0].max", "有限"),
        (bad_field(type="number", max=10**16), "fields[0].max", "绝对值"),
        (bad_field(type="number", min_length=1), "fields[0].min_length", "不允许的键"),
        (bad_field(type="date", min="2020-1-1"), "fields[0].min", "YYYY-MM-DD"),
        (bad_field(type="date", max="2021-02-30"), "fields[0].max", "YYYY-MM-DD"),
        (bad_field(type="date", min="2021-01-02", max="2021-01-01"), "fields[0].min", "不能晚于"),
        (bad_field(type="select", options=[]), "fields[0].options", "至少需要一个选项"),
        (bad_field(type="select"), "fields[0].options", "缺少"),
        (
            bad_field(type="select", options=[{"value": "a", "label": "甲"}, {"value": "a", "label": "乙"}]),
            "fields[0].options[1].value",
            "选项值重复：a",
        ),
        (
            bad_field(type="select", options=[{"value": " a", "label": "甲"}]),
            "fields[0].options[0].value",
            "空白",
        ),
        (bad_field(type="select", options=[{"value": "a"}]), "fields[0].options[0].label", "缺少"),
        (bad_field(type="file"), "fields[0].material", "缺少"),
        (bad_field(type="file", material="m01"), "fields[0].material", "材料编码格式不正确"),
        (bad_field(type="table", columns=[]), "fields[0].columns", "至少需要一列"),
        (
            bad_field(type="table", columns=[{"key": "c", "label": "c", "type": "file", "material": "M01"}]),
            "fields[0].columns[0].type",
            "不支持的字段类型：file",
        ),
        (
            bad_field(type="table", columns=[{"key": "c", "label": "c", "type": "table", "columns": []}]),
            "fields[0].columns[0].type",
            "不支持的字段类型：table",
        ),
        (
            bad_field(
                type="table",
                columns=[
                    {"key": "c", "label": "c", "type": "text"},
                    {"key": "c", "label": "d", "type": "date"},
                ],
            ),
            "fields[0].columns[1].key",
            "字段标识重复：c",
        ),
        (
            bad_field(type="table", columns=[{"key": "c", "label": "c", "type": "number", "min": 5, "max": 1}]),
            "fields[0].columns[0].min",
            "不能大于 max",
        ),
        (
            bad_field(type="table", columns=[{"label": "c", "type": "text"}]),
            "fields[0].columns[0].key",
            "缺少",
        ),
        (
            bad_field(type="table", min_rows=5, max_rows=2, columns=[{"key": "c", "label": "c", "type": "text"}]),
            "fields[0].min_rows",
            "不能大于 max_rows",
        ),
        ({"schema": SCHEMA_ID, "fields": [3]}, "fields[0]", "应为对象"),
        ({"schema": SCHEMA_ID, "fields": [{"key": "a", "label": "a"}]}, "fields[0].type", "缺少字段类型"),
    ],
)
def test_field_consistency_rules(raw: object, path: str, fragment: str) -> None:
    problems = problems_of(raw)
    assert path in problems, problems
    assert fragment in problems[path]


def test_duplicate_keys_are_reported() -> None:
    raw = {
        "schema": SCHEMA_ID,
        "fields": [
            {"key": "amount", "label": "a", "type": "number"},
            {"key": "amount", "label": "b", "type": "text"},
        ],
    }
    assert problems_of(raw) == {"fields[1].key": "字段标识重复：amount"}


def test_at_most_200_fields() -> None:
    fields = [{"key": f"f{i}", "label": "x", "type": "text"} for i in range(201)]
    assert "200" in problems_of({"schema": SCHEMA_ID, "fields": fields})["fields"]
    parse_form_schema({"schema": SCHEMA_ID, "fields": fields[:200]})


def test_all_schema_problems_reported_at_once() -> None:
    raw = {
        "schema": SCHEMA_ID,
        "fields": [
            {"key": "Bad", "label": "x", "type": "text"},
            {"key": "n", "label": "n", "type": "number", "min": 3, "max": 1},
            {"key": "s", "label": "s", "type": "select", "options": []},
            {"key": "n", "label": "dup", "type": "bogus"},
        ],
    }
    with pytest.raises(FormSchemaError) as info:
        parse_form_schema(raw)
    paths = [p.path for p in info.value.problems]
    assert paths == ["fields[0].key", "fields[1].min", "fields[2].options", "fields[3].type", "fields[3].key"]
    assert all(isinstance(p, SchemaProblem) for p in info.value.problems)
    assert "fields[1].min" in str(info.value)


def test_model_validate_directly_also_checks_consistency() -> None:
    with pytest.raises(ValueError, match="字段标识重复"):
        FormSchema.model_validate(
            {
                "schema": SCHEMA_ID,
                "fields": [
                    {"key": "a", "label": "a", "type": "text"},
                    {"key": "a", "label": "a", "type": "date"},
                ],
            }
        )


def test_schema_models_are_frozen(schema: FormSchema) -> None:
    with pytest.raises(ValueError):
        schema.fields[0].label = "x"  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Materials
# ---------------------------------------------------------------------------


def test_parse_materials() -> None:
    materials = parse_materials(MATERIALS)
    assert [m.code for m in materials] == ["M01", "M02", "M03"]
    m3 = materials[2]
    assert isinstance(m3, Material)
    assert (m3.required, m3.max_size_mb, m3.note) == (False, 20, "")
    assert m3.allows_format(".JPG") and not m3.allows_format("pdf")
    assert materials[0].max_size_bytes == 20 * 1024 * 1024
    assert parse_materials(json.dumps(MATERIALS)) == materials
    assert parse_materials([]) == []


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        ({"code": "m01"}, "[0].code", "材料编码格式不正确"),
        ({"code": "M" * 21}, "[0].code", "材料编码格式不正确"),
        ({"name": ""}, "[0].name", "不能为空"),
        ({"formats": []}, "[0].formats", "至少需要一种"),
        ({"formats": ["exe"]}, "[0].formats[0]", "不支持的文件格式：exe"),
        ({"formats": ["PDF"]}, "[0].formats[0]", "不支持的文件格式"),
        ({"formats": ["pdf", "pdf"]}, "[0].formats[1]", "重复"),
        ({"max_size_mb": 0}, "[0].max_size_mb", "1 到 200"),
        ({"max_size_mb": 201}, "[0].max_size_mb", "1 到 200"),
        ({"max_size_mb": 2.5}, "[0].max_size_mb", "整数"),
        ({"required": 1}, "[0].required", "布尔值"),
        ({"owner": "x"}, "[0].owner", "不允许的键"),
    ],
)
def test_material_rules(change: dict[str, Any], path: str, fragment: str) -> None:
    item = {"code": "M01", "name": "申请函", "formats": ["pdf"]}
    item.update(change)
    with pytest.raises(FormSchemaError) as info:
        parse_materials([item])
    problems = {p.path: p.message for p in info.value.problems}
    assert path in problems, problems
    assert fragment in problems[path]


def test_material_codes_unique_and_shape() -> None:
    with pytest.raises(FormSchemaError) as info:
        parse_materials([MATERIALS[0], MATERIALS[0], 5])
    problems = {p.path: p.message for p in info.value.problems}
    assert problems == {"[1].code": "材料编码重复：M01", "[2]": "应为对象"}
    with pytest.raises(FormSchemaError):
        parse_materials({"code": "M01"})


def test_allowed_formats() -> None:
    assert sorted(ALLOWED_FORMATS) == ["doc", "docx", "jpg", "ofd", "pdf", "png", "txt", "xls", "xlsx", "zip"]


def test_check_file_fields(schema: FormSchema) -> None:
    assert check_file_fields(schema, parse_materials(MATERIALS)) == []
    problems = check_file_fields(schema, parse_materials(MATERIALS[:2]))
    assert problems == [SchemaProblem("fields[9].material", "引用的材料不存在：M03")]


# ---------------------------------------------------------------------------
# Form validation: the happy path
# ---------------------------------------------------------------------------


def test_valid_data_is_cleaned(schema: FormSchema) -> None:
    cleaned, errors = validate_form(schema, VALID_DATA)
    assert errors == []
    assert cleaned == {
        "title": "购置设备",
        "amount": 12.5,
        "start_date": "2024-03-01",
        "category": "a",
        "plan": [7],
        "items": [{"name": "电脑", "price": 5000, "qty": 2, "day": "2024-05-01", "kind": ["x", "y"]}],
        "note": "第一行\n第二行",
        "code": "91330100MA2XXXXX0X",
        "count": 3,
        "extra_files": [8, 9],
    }
    assert isinstance(cleaned["count"], int)
    assert validate_form(schema, cleaned) == (cleaned, [])
    assert attachment_ids(schema, cleaned) == {"M02": [7], "M03": [8, 9]}


def test_optional_fields_may_be_absent_or_blank(schema: FormSchema) -> None:
    data = dict(VALID_DATA, start_date="", note=None, code="   ", count=None, extra_files=[])
    cleaned, errors = validate_form(schema, data)
    assert errors == []
    assert not {"start_date", "note", "code", "count", "extra_files"} & cleaned.keys()


def test_input_is_not_mutated(schema: FormSchema) -> None:
    data = copy.deepcopy(VALID_DATA)
    validate_form(schema, data)
    assert data == VALID_DATA


# ---------------------------------------------------------------------------
# Form validation: errors
# ---------------------------------------------------------------------------


def test_not_an_object(schema: FormSchema) -> None:
    assert validate_form(schema, [1]) == ({}, [FieldError("", "表单数据应为 JSON 对象", "bad_type")])


@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000", []])
def test_required_blank_values(schema: FormSchema, blank: object) -> None:
    data = dict(VALID_DATA, title=blank)
    _, errors = validate_form(schema, data)
    assert errors == [FieldError("title", "此项为必填项", "required")]


def test_every_error_collected_at_once(schema: FormSchema) -> None:
    data = {
        "title": "x",
        "amount": "abc",
        "start_date": "2019-12-31",
        "category": "z",
        "plan": "seven",
        "items": [],
        "count": 1.5,
        "surprise": 1,
    }
    cleaned, errors = validate_form(schema, data)
    assert [(e.key, e.code) for e in errors] == [
        ("title", "too_short"),
        ("amount", "bad_type"),
        ("start_date", "too_small"),
        ("category", "bad_choice"),
        ("plan", "bad_type"),
        ("items", "required"),
        ("count", "not_integer"),
        ("surprise", "unknown_field"),
    ]
    messages = {e.key: e.message for e in errors}
    assert messages["title"] == "长度不能少于 2 个字"
    assert messages["start_date"] == "不能早于 2020-01-01"
    assert messages["category"] == "不是有效的选项：z"
    assert messages["surprise"] == "未知字段：surprise"
    assert cleaned == {}


def test_text_rules() -> None:
    s = one_field({"key": "t", "label": "t", "type": "text", "min_length": 2, "max_length": 5, "pattern": "[a-z]+"})
    assert validate_form(s, {"t": " abc "}) == ({"t": "abc"}, [])
    assert errors_of(s, {"t": "abcdef"}) == {"t": "too_long"}
    assert validate_form(s, {"t": "abcdef"})[1][0].message == "长度不能超过 5 个字"
    assert errors_of(s, {"t": "a"}) == {"t": "too_short"}
    assert validate_form(s, {"t": "ABC"})[1] == [FieldError("t", "格式不正确", "bad_pattern")]
    assert errors_of(s, {"t": "abcX"}) == {"t": "bad_pattern"}  # pattern must match fully
    assert errors_of(s, {"t": 12}) == {"t": "bad_type"}
    assert errors_of(s, {"t": ["ab"]}) == {"t": "bad_type"}
    assert errors_of(s, {"t": "a\nb"}) == {"t": "bad_pattern"}  # single line
    assert errors_of(s, {"t": "a\x00b"}) == {"t": "bad_pattern"}


def test_text_counts_characters_not_bytes() -> None:
    s = one_field({"key": "t", "label": "t", "type": "text", "max_length": 4})
    assert validate_form(s, {"t": "申请事由"}) == ({"t": "申请事由"}, [])
    assert errors_of(s, {"t": "申请事由书"}) == {"t": "too_long"}


def test_text_default_limit_and_custom_pattern_message() -> None:
    s = one_field({"key": "t", "label": "t", "type": "text", "pattern": "[0-9]{6}", "pattern_message": "应为 6 位邮编"})
    assert validate_form(s, {"t": "31000"})[1] == [FieldError("t", "应为 6 位邮编", "bad_pattern")]
    s = one_field({"key": "t", "label": "t", "type": "text", "multiline": True})
    assert errors_of(s, {"t": "x" * 10_001}) == {"t": "too_long"}
    assert validate_form(s, {"t": "a\r\nb\tc\rd"}) == ({"t": "a\nb\tc\nd"}, [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        (12.5, 12.5),
        ("12.5", 12.5),
        (" 7 ", 7),
        ("-3", -3),
        ("+4.", 4.0),
        (".5", 0.5),
        (0, 0),
    ],
)
def test_number_accepts(value: object, expected: float) -> None:
    s = one_field({"key": "n", "label": "n", "type": "number", "min": -10, "max": 100})
    cleaned, errors = validate_form(s, {"n": value})
    assert errors == []
    assert cleaned["n"] == expected
    assert type(cleaned["n"]) is type(expected)


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        (True, "bad_type", "应填写数字"),
        (False, "bad_type", "应填写数字"),
        ("abc", "bad_type", "应填写数字"),
        ("NaN", "bad_type", "应填写数字"),
        ("inf", "bad_type", "应填写数字"),
        ("1e3", "bad_type", "应填写数字"),
        ("1_000", "bad_type", "应填写数字"),
        ("１２", "bad_type", "应填写数字"),
        (math.nan, "bad_type", "应填写有效的数字"),
        (math.inf, "bad_type", "应填写有效的数字"),
        (-math.inf, "bad_type", "应填写有效的数字"),
        ([1], "bad_type", "应填写数字"),
        (100.5, "too_large", "不能大于 100"),
        (-11, "too_small", "不能小于 -10"),
        (10**20, "too_large", "超出允许的数值范围"),
        ("9" * 64, "too_large", "超出允许的数值范围"),
        ("9" * 65, "bad_type", "应填写数字"),
        (-(10**20), "too_small", "超出允许的数值范围"),
    ],
)
def test_number_rejects(value: object, code: str, message: str) -> None:
    s = one_field({"key": "n", "label": "n", "type": "number", "min": -10, "max": 100})
    assert validate_form(s, {"n": value}) == ({}, [FieldError("n", message, code)])


def test_number_integer() -> None:
    s = one_field({"key": "n", "label": "n", "type": "number", "integer": True, "max": 100000})
    assert validate_form(s, {"n": "5.0"}) == ({"n": 5}, [])
    assert validate_form(s, {"n": 5.5})[1] == [FieldError("n", "应填写整数", "not_integer")]
    assert validate_form(s, {"n": 100001})[1] == [FieldError("n", "不能大于 100000", "too_large")]


def test_date_rules(schema: FormSchema) -> None:
    s = one_field({"key": "d", "label": "d", "type": "date", "min": "2020-01-01", "max": "2020-12-31"})
    assert validate_form(s, {"d": " 2020-02-29 "}) == ({"d": "2020-02-29"}, [])
    assert validate_form(s, {"d": "2020/02/01"})[1] == [FieldError("d", "日期格式应为 YYYY-MM-DD", "bad_date")]
    assert validate_form(s, {"d": "2020-2-1"})[1][0].code == "bad_date"
    assert validate_form(s, {"d": "2021-02-29"})[1][0].code == "bad_date"  # too_large is not reached
    assert validate_form(s, {"d": "2020-02-30"})[1] == [FieldError("d", "不是有效的日期", "bad_date")]
    assert validate_form(s, {"d": "2020-01-01T00:00:00"})[1][0].code == "bad_date"
    assert validate_form(s, {"d": "2019-12-31"})[1] == [FieldError("d", "不能早于 2020-01-01", "too_small")]
    assert validate_form(s, {"d": "2021-01-01"})[1] == [FieldError("d", "不能晚于 2020-12-31", "too_large")]
    assert errors_of(s, {"d": 20200101}) == {"d": "bad_type"}


def test_select_rules() -> None:
    opts = [{"value": "a", "label": "甲"}, {"value": "b", "label": "乙"}]
    single = one_field({"key": "s", "label": "s", "type": "select", "options": opts})
    assert validate_form(single, {"s": " b "}) == ({"s": "b"}, [])
    assert validate_form(single, {"s": "c"})[1] == [FieldError("s", "不是有效的选项：c", "bad_choice")]
    assert errors_of(single, {"s": ["a"]}) == {"s": "bad_type"}
    assert errors_of(single, {"s": 1}) == {"s": "bad_type"}
    multi = one_field({"key": "s", "label": "s", "type": "select", "multiple": True, "required": True, "options": opts})
    assert validate_form(multi, {"s": ["b", "a", "b"]}) == ({"s": ["b", "a"]}, [])
    assert errors_of(multi, {"s": ["a", "z"]}) == {"s": "bad_choice"}
    assert errors_of(multi, {"s": "a"}) == {"s": "bad_type"}
    assert errors_of(multi, {"s": ["a", 1]}) == {"s": "bad_type"}
    assert errors_of(multi, {"s": []}) == {"s": "required"}


def test_file_rules() -> None:
    s = one_field({"key": "f", "label": "f", "type": "file", "material": "M01", "required": True})
    assert validate_form(s, {"f": 3}) == ({"f": [3]}, [])
    assert validate_form(s, {"f": [3, 4, 3]}) == ({"f": [3, 4]}, [])
    for bad in ("3", True, 0, -1, 2.0, [3, "4"], [[3]], {"id": 3}):
        assert errors_of(s, {"f": bad}) == {"f": "bad_type"}, bad
    assert errors_of(s, {"f": []}) == {"f": "required"}


def test_table_cells_and_rows(schema: FormSchema) -> None:
    data = dict(
        VALID_DATA,
        items=[
            {"name": "", "price": "-1", "qty": 2.5},
            "row",
            {"name": "ok", "price": 1, "day": "2031-01-01", "kind": ["q"], "colour": "red"},
        ],
    )
    cleaned, errors = validate_form(schema, data)
    assert [(e.key, e.code) for e in errors] == [
        ("items[0].name", "required"),
        ("items[0].price", "too_small"),
        ("items[0].qty", "not_integer"),
        ("items[1]", "bad_type"),
        ("items[2].day", "too_large"),
        ("items[2].kind", "bad_choice"),
        ("items[2].colour", "unknown_field"),
    ]
    assert "items" not in cleaned  # a table with any error is left out entirely
    assert cleaned["title"] == "购置设备"


def test_table_row_counts(schema: FormSchema) -> None:
    row = {"name": "n", "price": 1}
    assert validate_form(schema, dict(VALID_DATA, items=[row] * 4))[1] == [
        FieldError("items", "最多 3 行", "too_many_rows")
    ]
    s = one_field(
        {
            "key": "t",
            "label": "t",
            "type": "table",
            "min_rows": 2,
            "columns": [{"key": "c", "label": "c", "type": "text"}],
        }
    )
    assert validate_form(s, {"t": [{"c": "x"}]})[1] == [FieldError("t", "至少需要 2 行", "too_few_rows")]
    assert validate_form(s, {"t": [{}, {"c": " y "}]}) == ({"t": [{}, {"c": "y"}]}, [])
    assert validate_form(s, {}) == ({}, [])  # optional table may be absent
    assert errors_of(s, {"t": {"c": "x"}}) == {"t": "bad_type"}
    assert errors_of(s, {"t": [{"c": "x"}] * 1001}) == {"t": "too_many_rows"}


def test_unknown_keys(schema: FormSchema) -> None:
    _, errors = validate_form(schema, dict(VALID_DATA, foo=1, bar=None))
    assert errors == [
        FieldError("foo", "未知字段：foo", "unknown_field"),
        FieldError("bar", "未知字段：bar", "unknown_field"),
    ]


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["12.5", "2024-02-29", "a", "x", " 3 ", "2019-01-01", "1e5", ""])
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
_KEYS = [f["key"] for f in EXAMPLE["fields"]]
_COLUMN_KEYS = [c["key"] for c in EXAMPLE["fields"][5]["columns"]]
rows = st.dictionaries(st.sampled_from(_COLUMN_KEYS) | st.text(max_size=4), json_values, max_size=6)
form_like = st.dictionaries(
    st.sampled_from(_KEYS) | st.text(max_size=6),
    json_values | st.lists(rows, max_size=4) | st.lists(st.integers(), max_size=3),
    max_size=12,
)

_SCHEMA = parse_form_schema(EXAMPLE)
_REQUIRED = {f.key for f in _SCHEMA.fields if f.required}
_FAST = settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _check_properties(data: object) -> None:
    cleaned, errors = validate_form(_SCHEMA, data)
    assert isinstance(cleaned, dict)
    assert all(isinstance(e, FieldError) and e.code and e.message for e in errors)
    json.dumps(cleaned, allow_nan=False)  # cleaned data is plain, finite JSON
    again, errors2 = validate_form(_SCHEMA, cleaned)
    assert again == cleaned
    # Only required fields that were dropped for being invalid may complain now.
    assert {(e.key, e.code) for e in errors2} == {(k, "required") for k in _REQUIRED - cleaned.keys()}
    if not errors:
        assert errors2 == []


@_FAST
@given(json_values)
def test_never_raises_on_arbitrary_json(data: object) -> None:
    _check_properties(data)


@_FAST
@given(form_like)
def test_never_raises_and_idempotent_on_form_like_data(data: dict[str, Any]) -> None:
    _check_properties(data)


valid_rows = st.fixed_dictionaries(
    {
        "name": st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=20),
        "price": st.integers(0, 10**6),
    },
    optional={
        "qty": st.integers(1, 99) | st.integers(1, 99).map(str),
        "day": st.dates(max_value=datetime.date(2030, 12, 31)).map(str),
        "kind": st.lists(st.sampled_from(["x", "y"]), max_size=3),
    },
)
valid_forms = st.fixed_dictionaries(
    {
        "title": st.text(st.characters(categories=["L", "N", "Zs"]), min_size=2, max_size=50).filter(
            lambda t: len(t.strip()) >= 2
        ),
        "amount": st.floats(0, 100000) | st.integers(0, 100000) | st.decimals(0, 100000, places=2).map(str),
        "category": st.sampled_from(["a", "b"]),
        "plan": st.integers(1, 10**9) | st.lists(st.integers(1, 10**9), min_size=1, max_size=3),
        "items": st.lists(valid_rows, min_size=1, max_size=3),
    },
    optional={
        "start_date": st.dates(min_value=datetime.date(2020, 1, 1)).map(str),
        "note": st.text(st.characters(categories=["L", "N", "P", "Zs"], include_characters="\n\t"), max_size=30),
        "count": st.integers(-(10**6), 10**6),
    },
)


@_FAST
@given(valid_forms)
def test_valid_data_has_no_errors_and_is_idempotent(data: dict[str, Any]) -> None:
    cleaned, errors = validate_form(_SCHEMA, data)
    assert errors == []
    assert validate_form(_SCHEMA, cleaned) == (cleaned, [])
