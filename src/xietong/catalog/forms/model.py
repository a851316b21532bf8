"""The form schema's building blocks: limits, problem types, the field and material models."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

SCHEMA_ID = "xietong.form/1"
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
MATERIAL_CODE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,19}")
ALLOWED_FORMATS: frozenset[str] = frozenset({"pdf", "ofd", "doc", "docx", "xls", "xlsx", "jpg", "png", "zip", "txt"})
FIELD_TYPES: tuple[str, ...] = ("text", "number", "date", "select", "file", "table")
COLUMN_TYPES: tuple[str, ...] = ("text", "number", "date", "select")
#: Where the wizard may take a field's first value from (``prefill``); the applicant can still change it.
PREFILL_SOURCES: tuple[str, ...] = (
    "person.name", "person.phone", "applicant_unit.name", "applicant_unit.uscc", "last_application",
)
MAX_VISIBLE_VALUES = 50

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
MAX_SHARED_KIND_LENGTH = 40
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


class VisibleWhen(_Model):
    """Show a field only while an earlier field's value is one of ``equals`` (any of them, for a multiple select)."""

    field: str
    equals: list[str]


class _BaseField(_Model):
    key: str
    label: str
    required: bool = False
    help: str | None = None
    visible_when: VisibleWhen | None = None
    prefill: Literal[
        "person.name", "person.phone", "applicant_unit.name", "applicant_unit.uscc", "last_application"
    ] | None = None


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
        from xietong.catalog.forms.schema import _schema_problems  # the checks need these models: import late

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
    #: 共享材料 (减材料): the kind of a unit's standing document that may satisfy it (``统一社会信用代码证``), or
    #: ``result`` / ``result:<base matter code>`` for an earlier case's result document (结果复用).
    shared_kind: str | None = None

    @property
    def reuses_result(self) -> bool:
        """Whether an earlier case's result document (rather than a standing document) satisfies it."""
        return self.shared_kind is not None and (self.shared_kind == "result" or self.shared_kind.startswith("result:"))

    @property
    def max_size_bytes(self) -> int:
        """Maximum attachment size in bytes."""
        return self.max_size_mb * 1024 * 1024

    def allows_format(self, ext: str) -> bool:
        """Whether a file extension (with or without dot, any case) is accepted."""
        return ext.lower().lstrip(".") in self.formats


_FIELD_ADAPTER: TypeAdapter[Any] = TypeAdapter(FieldDef)
_MATERIAL_ADAPTER: TypeAdapter[Material] = TypeAdapter(Material)
