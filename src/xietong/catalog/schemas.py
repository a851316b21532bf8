"""What the matter library takes and shows: base and local matters, versions, the matter hall's lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class BaseMatterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["immediate", "promised"]
    legal_limit_days: int = Field(ge=0, le=365)
    function: str | None = Field(None, max_length=50)
    legal_basis: str = Field("", max_length=5000)


class BaseMatterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: str
    legal_limit_days: int
    function: str | None
    legal_basis: str


class LocalMatterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_matter_id: int
    region_id: int
    handling_unit_id: int
    code: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=200)


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form_schema: dict[str, Any]
    materials: list[Any] = Field(default_factory=list)
    process: dict[str, Any]
    promised_limit_days: int = Field(ge=0, le=365)
    kind: Literal["immediate", "promised"] | None = None
    situations: dict[str, Any] | None = Field(None, description="办理情形（docs/form-schema.md）")


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    local_matter_id: int
    number: int
    status: str
    kind: str
    legal_limit_days: int
    promised_limit_days: int
    form_schema: dict[str, Any]
    materials: list[Any]
    process_definition_id: int
    process: dict[str, Any] | None = None
    created_at: datetime
    published_at: datetime | None
    retired_at: datetime | None
    situations: dict[str, Any] | None = None


class MatterSummary(BaseModel):
    id: int
    code: str
    name: str
    status: str
    base_matter_id: int
    region_id: int
    region_name: str
    handling_unit_id: int
    handling_unit_name: str
    kind: str | None
    promised_limit_days: int | None
    legal_limit_days: int | None
    current_version_id: int | None


class MatterDetail(MatterSummary):
    legal_basis: str
    current_version: VersionOut | None
    versions: list[VersionOut]


class SubItemIn(BaseModel):
    """One child of a split; ``materials``/``fields`` keep only those codes/keys (left out: keep everything)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    materials: list[str] | None = Field(None, max_length=100)
    fields: list[str] | None = Field(None, max_length=200)


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[SubItemIn] = Field(min_length=2, max_length=20)
    reason: str = Field(min_length=1, max_length=500)
    publish: bool = Field(False, description="立即发布各子项并废止原事项（否则子项为草稿，全部发布后原事项废止）")
    dry_run: bool = Field(False, description="只返回拆分方案，不写入")


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    local_matter_ids: list[int] = Field(min_length=2, max_length=10)
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$", description="一件事的基本目录编码")
    name: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    lead_id: int | None = Field(None, description="牵头事项（其办理单位受理一件事）；默认第一个")
    layout: Literal["sequential", "parallel"] = Field(
        "sequential", description="sequential 依次办理（时限相加）| parallel 并联办理（各事项同时办理，时限取最长）")
    publish: bool = False
    dry_run: bool = False


class GranularityOut(BaseModel):
    """A split's or merge's plan, and (unless a dry run) what was written."""

    dry_run: bool
    operation: str | None = None
    plan: dict[str, Any]
    local_matter_ids: list[int] = []
    version_ids: list[int] = []


class LineageEdgeOut(BaseModel):
    operation: str
    kind: str
    predecessor_id: int
    predecessor_code: str
    successor_id: int
    successor_code: str
    reason: str
    at: str
    by_id: int | None


class LineageOut(BaseModel):
    local_matter_id: int
    lineage_key: str
    members: list[dict[str, Any]]
    edges: list[LineageEdgeOut]
