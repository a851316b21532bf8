"""The process-definition JSON format ``xietong.process/1`` as pydantic models (see docs/process-schema.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NODE_ID = r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$"
NodeType = Literal["start", "end", "user_task", "exclusive", "parallel"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HandlingUnitRef(_Strict):
    ref: Literal["handling_unit"]


class ApplicantUnitRef(_Strict):
    ref: Literal["applicant_unit"]


class FunctionUnitRef(_Strict):
    """The unit with this function in the case's region (so one template works in every region)."""

    ref: Literal["function"]
    function: str = Field(min_length=1, max_length=50)


class FixedUnitRef(_Strict):
    ref: Literal["unit"]
    code: str = Field(min_length=1, max_length=64)


UnitRef = Annotated[HandlingUnitRef | ApplicantUnitRef | FunctionUnitRef | FixedUnitRef, Field(discriminator="ref")]


class PostRule(_Strict):
    """A shared task of ``post`` in one unit (with ``multi``: one task per holder of the post)."""

    rule: Literal["post"]
    unit: UnitRef
    post: str = Field(min_length=1, max_length=40)


class PostsRule(_Strict):
    """With ``multi`` only: one shared task of ``post`` in each of several units."""

    rule: Literal["posts"]
    units: list[UnitRef] = Field(min_length=1, max_length=30)
    post: str = Field(min_length=1, max_length=40)


class ApplicantLeaderRule(_Strict):
    """The applicant unit's 分管领导 post."""

    rule: Literal["applicant_leader"]


class PeopleRule(_Strict):
    """Named people by employee code."""

    rule: Literal["people"]
    people: list[str] = Field(min_length=1, max_length=50)


class ExpressionRule(_Strict):
    """A CEL expression over ``form`` that yields a list of employee codes."""

    rule: Literal["expression"]
    expr: str = Field(min_length=1, max_length=500)


AssignRule = Annotated[
    PostRule | PostsRule | ApplicantLeaderRule | PeopleRule | ExpressionRule, Field(discriminator="rule")
]


class MultiSpec(_Strict):
    """会签 (``all``), 或签 (``any``) or a ``ratio`` of approvals; signers in parallel or in sequence."""

    mode: Literal["all", "any", "ratio"]
    order: Literal["parallel", "sequential"] = "parallel"
    ratio: float | None = Field(default=None, gt=0, le=1)


class NodeSpec(_Strict):
    id: str = Field(pattern=NODE_ID)
    type: NodeType
    name: str = Field(default="", max_length=100)
    x: float | None = None
    y: float | None = None
    assign: AssignRule | None = None
    multi: MultiSpec | None = None
    limit_days: int | None = Field(default=None, ge=0, le=365)


class FlowSpec(_Strict):
    id: str = Field(pattern=NODE_ID)
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    name: str = Field(default="", max_length=100)
    condition: str | None = Field(default=None, max_length=500)
    default: bool = False


class ProcessSpec(_Strict):
    schema_: Literal["xietong.process/1"] = Field(alias="schema")
    name: str = Field(default="", max_length=200)
    nodes: list[NodeSpec] = Field(min_length=2, max_length=200)
    flows: list[FlowSpec] = Field(min_length=1, max_length=400)
    extensions: dict[str, object] = Field(default_factory=dict)
