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

This package is self-contained: it depends only on the standard library and
pydantic.  See ``docs/form-schema.md`` for the format and every rule.
"""

from __future__ import annotations

from xietong.catalog.forms.model import (
    ALLOWED_FORMATS,
    PREFILL_SOURCES,
    SCHEMA_ID,
    ColumnField,
    DateField,
    FieldDef,
    FieldError,
    FileField,
    FormSchema,
    FormSchemaError,
    Material,
    NumberField,
    SchemaProblem,
    SelectField,
    SelectOption,
    TableField,
    TextField,
    VisibleWhen,
)
from xietong.catalog.forms.schema import (
    check_file_fields,
    dump_form_schema,
    parse_form_schema,
    parse_materials,
)
from xietong.catalog.forms.values import (
    attachment_ids,
    hidden_fields,
    validate_form,
)

__all__ = [
    "ALLOWED_FORMATS",
    "PREFILL_SOURCES",
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
    "VisibleWhen",
    "attachment_ids",
    "check_file_fields",
    "dump_form_schema",
    "hidden_fields",
    "parse_form_schema",
    "parse_materials",
    "validate_form",
]
