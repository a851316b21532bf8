"""What the catalogue's reads return: a unit's documents, their versions and uses, and reusable results."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class VersionOut(BaseModel):
    id: int
    number: int
    filename: str
    content_type: str
    size: int
    valid_from: date | None
    valid_until: date | None
    note: str
    uploaded_at: datetime
    uploaded_by: str | None
    state: str  # valid | expired | not_yet (today, in the instance's time zone)
    current: bool


class CaseUse(BaseModel):
    case_id: int
    number: str
    title: str
    version_number: int
    material_code: str | None
    submitted_at: datetime


class SharedMaterialOut(BaseModel):
    id: int
    unit_id: int
    kind: str
    current: VersionOut | None
    updated_at: datetime


class SharedMaterialDetail(SharedMaterialOut):
    unit_name: str
    versions: list[VersionOut]
    uses: list[CaseUse]


class ReusableResult(BaseModel):
    """A concluded case's result document the applicant unit may link (结果复用)."""

    document_id: int
    case_id: int
    case_number: str
    matter: str
    base_matter_code: str
    title: str
    document_number: str
    issued_at: datetime
    sealed: bool


class UnitCatalogue(BaseModel):
    unit_id: int
    unit_name: str
    documents: list[SharedMaterialOut]
    results: list[ReusableResult]
    kinds: list[str]
