"""What a reorganisation (机构改革) asks for: its kind, the units before, the units after and — for a split —
the explicit mapping of everything the predecessor holds. Units are named by code, people by username,
matters by their code, cases by their number: what the people preparing a reorganisation have in hand."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    RENAME = "rename"
    MERGE = "merge"
    SPLIT = "split"


KIND_LABELS = {Kind.RENAME: "更名", Kind.MERGE: "合并", Kind.SPLIT: "拆分"}


class Successor(BaseModel):
    """A unit after the reorganisation: an existing unit by its code, or a new one (a code not yet used, a name)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    short_name: str = Field(default="", max_length=100)
    uscc: str | None = Field(default=None, min_length=18, max_length=18)
    parent_code: str | None = Field(default=None, max_length=64, description="新单位的上级单位；默认与原单位相同")
    function: str | None = Field(default=None, max_length=50, description="新单位的职能；默认取第一个原单位的")


class SplitMapping(BaseModel):
    """Where each thing of the split unit goes: every value is the code of one of the successors."""

    model_config = ConfigDict(extra="forbid")

    posts: dict[str, str] = Field(default_factory=dict, description="岗位编码 → 接续单位编码")
    people: dict[str, str] = Field(default_factory=dict, description="用户名 → 接续单位编码")
    matters: dict[str, str] = Field(default_factory=dict, description="实施清单编码 → 接续单位编码")
    cases: dict[str, str] = Field(default_factory=dict, description="办件编号 → 接续单位编码")
    units: dict[str, str] = Field(default_factory=dict, description="下级单位编码 → 接续单位编码")


class ReorganisationIn(BaseModel):
    """One reorganisation: rename (one unit, a new name), merge (units into one successor) or split (one unit into
    several successors, with the mapping)."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    units: list[str] = Field(min_length=1, max_length=20, description="改革前的单位编码")
    reason: str = Field(min_length=1, max_length=500, description="依据，如编委发文号")
    name: str | None = Field(default=None, min_length=1, max_length=200, description="更名：新名称")
    short_name: str | None = Field(default=None, max_length=100, description="更名：新简称")
    successor: Successor | None = Field(default=None, description="合并：接续单位")
    successors: list[Successor] = Field(default_factory=list, max_length=20, description="拆分：接续单位")
    mapping: SplitMapping = Field(default_factory=SplitMapping)
