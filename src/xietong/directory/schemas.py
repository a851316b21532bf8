"""Pydantic shapes of the directory's input and output, with the USCC and phone rules and their Chinese messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from xietong.errors import FieldProblem
from xietong.validation import problems_from

# GB 32100-2015: 31 characters (no I, O, Z, S, V), each worth its index; weights 3^i mod 31.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


def uscc_check_char(first17: str) -> str:
    """The check character (18th) of a 统一社会信用代码 whose first 17 characters are given."""
    total = sum(USCC_CHARS.index(ch) * weight for ch, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def check_uscc(value: str) -> str:
    """Return the code upper-cased, or raise a Chinese error if it is not a valid 统一社会信用代码."""
    code = value.strip().upper()
    if len(code) != 18:
        raise PydanticCustomError(
            "uscc_length", "统一社会信用代码应为 18 位，实际为 {length} 位", {"length": len(code)}
        )
    bad = sorted({ch for ch in code if ch not in USCC_CHARS})
    if bad:
        raise PydanticCustomError(
            "uscc_chars",
            "统一社会信用代码含不允许的字符：{chars}（只允许数字和除 I、O、Z、S、V 外的大写字母）",
            {"chars": "、".join(bad)},
        )
    if code[17] != uscc_check_char(code[:17]):
        raise PydanticCustomError("uscc_check", "统一社会信用代码校验位不正确")
    return code


def check_phone(value: str) -> str:
    """Return the number, or raise a Chinese error unless it is a mobile or a landline number."""
    if MOBILE_RE.match(value) or LANDLINE_RE.match(value):
        return value
    raise PydanticCustomError("phone", "电话号码格式不正确：应为 11 位手机号或区号开头的固定电话（如 0578-2123456）")


def _check_username(value: str) -> str:
    if not USERNAME_RE.match(value):
        raise PydanticCustomError("username", "用户名只能包含字母、数字和 _ . @ -，且以字母或数字开头")
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


Blank = BeforeValidator(_blank_to_none)
Code = Annotated[str, Field(min_length=1, max_length=64)]
Uscc = Annotated[str, AfterValidator(check_uscc)]
Phone = Annotated[str, Field(max_length=30), AfterValidator(check_phone)]
PostCode = Annotated[str, Field(min_length=1, max_length=40)]
Function = Annotated[str, Field(max_length=50)]
Username = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_check_username)]


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RegionIn(_In):
    code: str = Field(min_length=1, max_length=12)
    name: str = Field(min_length=1, max_length=100)
    short_name: str = Field(default="", max_length=50)
    level: Literal["city", "county"]
    code_kind: Literal["division", "platform"] = "division"
    parent_code: Annotated[str | None, Blank] = None


class RegionOut(_Out):
    id: int
    code: str
    code_kind: str
    name: str
    short_name: str
    level: str
    parent_id: int | None


class _UnitFields(_In):
    @model_validator(mode="after")
    def _one_parent_reference(self) -> Any:
        if getattr(self, "parent_code", None) is not None and getattr(self, "parent_id", None) is not None:
            raise PydanticCustomError("parent_twice", "上级单位编码和上级单位 ID 只能填写一个")
        return self


class UnitIn(_UnitFields):
    """A new unit; the parent by code or by id (neither: a top-level unit)."""

    code: Code
    name: str = Field(min_length=1, max_length=200)
    short_name: str = Field(default="", max_length=100)
    parent_code: Annotated[str | None, Blank] = None
    parent_id: int | None = None
    region_code: str = Field(min_length=1, max_length=12)
    function: Annotated[Function | None, Blank] = None
    uscc: Annotated[Uscc | None, Blank] = None
    sort: int = 0


class UnitUpdate(_UnitFields):
    """Changes to a unit: only the fields given are applied; an explicit null parent makes it top-level."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    short_name: str | None = Field(default=None, max_length=100)
    parent_code: Annotated[str | None, Blank] = None
    parent_id: int | None = None
    region_code: str | None = Field(default=None, min_length=1, max_length=12)
    function: Annotated[Function | None, Blank] = None
    uscc: Annotated[Uscc | None, Blank] = None
    sort: int | None = None

    @property
    def moves(self) -> bool:
        """Whether the update names a parent (possibly none, i.e. top level)."""
        return bool({"parent_code", "parent_id"} & self.model_fields_set)


class UnitOut(_Out):
    id: int
    code: str
    name: str
    short_name: str
    parent_id: int | None
    parent_code: str | None = None
    region_id: int
    region_code: str | None = None
    function: str | None
    uscc: str | None
    path: str
    active: bool
    sort: int


class UnitNode(UnitOut):
    children: list[UnitNode] = Field(default_factory=list)


class PostIn(_In):
    code: PostCode
    name: str = Field(min_length=1, max_length=100)


class PostOut(_Out):
    id: int
    unit_id: int
    code: str
    name: str


class MembershipIn(_In):
    """Membership of a unit (by id or by code), optionally holding a post there (by post code)."""

    unit_id: int | None = None
    unit_code: Annotated[str | None, Blank] = None
    post_code: Annotated[PostCode | None, Blank] = None
    is_primary: bool = False

    @model_validator(mode="after")
    def _one_unit_reference(self) -> MembershipIn:
        if (self.unit_id is None) == (self.unit_code is None):
            raise PydanticCustomError("unit_reference", "须填写单位编码或单位 ID 之一")
        return self


class MembershipOut(_Out):
    id: int
    unit_id: int
    unit_code: str
    unit_name: str
    unit_active: bool
    post_id: int | None
    post_code: str | None
    post_name: str | None
    is_primary: bool


class PersonIn(_In):
    employee_code: str = Field(min_length=1, max_length=40)
    username: Username
    name: str = Field(min_length=1, max_length=50)
    phone: Annotated[Phone | None, Blank] = None
    memberships: list[MembershipIn] = Field(default_factory=list)


class PersonUpdate(_In):
    """Changes to a person: only the fields given are applied."""

    username: Annotated[
        str | None, Field(min_length=1, max_length=64), AfterValidator(lambda v: v and _check_username(v))
    ] = None
    name: str | None = Field(default=None, min_length=1, max_length=50)
    phone: Annotated[Phone | None, Blank] = None
    active: bool | None = None


class PersonOut(_Out):
    id: int
    employee_code: str
    username: str
    name: str
    phone: str | None
    active: bool
    memberships: list[MembershipOut] = Field(default_factory=list)


class DelegationOut(_Out):
    id: int
    from_person_id: int
    to_person_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str


def field_problems(exc: ValidationError, labels: Mapping[str, str] | None = None) -> list[FieldProblem]:
    """Every error of a pydantic validation as a FieldProblem in Chinese, fields named by ``labels`` when given."""
    return problems_from(exc.errors(), labels)
