"""/api/v1: verifying sealed files (电子签章), a case's sealed result, and archive packages with their 四性检测."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, Response, UploadFile
from pydantic import BaseModel, Field

from xietong.errors import TooLarge
from xietong.integrations.archive import service as archiving
from xietong.integrations.archive.check import four_checks
from xietong.integrations.seal import service as seals
from xietong.web.deps import CurrentPrincipal, reading, settings_of

router = APIRouter(tags=["电子印章与电子档案"])


class VerificationOut(BaseModel):
    ok: bool = Field(description="签章完整：文件未被改动，SM2 签名验证通过")
    problems: list[str]
    seal: str | None = Field(description="印章名称")
    es_id: str | None = Field(description="印章编码")
    signer: dict[str, Any] | None
    time: str | None = Field(description="签章时间")
    data_hash: str | None = Field(description="所签内容的 SM3 摘要")
    provider: str | None = Field(description="local 本地签章服务 | provincial 省电子印章系统")
    document: dict[str, Any] | None
    known_seal: dict[str, Any] | None = Field(description="签名证书属于本实例哪个单位的印章（空：不是本实例的印章）")


class UnitSealOut(BaseModel):
    unit_id: int
    es_id: str = Field(description="印章编码")
    name: str
    cert: str = Field(description="SM2 公钥（04‖x‖y，十六进制）：用它可在别处验证本单位的签章")
    created_at: datetime


class SealStateOut(BaseModel):
    document_id: int
    provider: str
    state: str = Field(description="pending 等待盖章 | sealed 已盖章")
    requested_at: datetime
    sealed_at: datetime | None
    verification: dict[str, Any] | None


class ArchivePackageOut(BaseModel):
    case_id: int
    archival_code: str
    state: str = Field(description="built 已封装待移交 | transferred 已移交 | failed 四性检测未通过")
    sm3: str
    passed: bool
    built_at: datetime
    transferred_at: datetime | None
    receipt: dict[str, Any] | None
    report: dict[str, Any] = Field(description="四性检测报告（DA/T 70）")


def _read(request: Request, file: UploadFile) -> bytes:
    # sync routes (run in the thread pool): verifying and checking are CPU work that must not block the loop
    cap = settings_of(request).max_upload_mb * 1024 * 1024
    content = file.file.read(cap + 1)
    if len(content) > cap:
        raise TooLarge(code="file_too_large", detail=f"文件不能超过 {settings_of(request).max_upload_mb} MB")
    return content


@router.post("/seals/verify", summary="验证电子签章：文件或签名有任何改动都会被发现")
def verify(request: Request, principal: CurrentPrincipal,
                 file: Annotated[UploadFile, File(description="已签章的 PDF")]) -> VerificationOut:
    content = _read(request, file)
    with reading(request) as session:
        return VerificationOut(**seals.verify(session, content))


@router.get("/units/{unit_id}/seal", summary="单位的电子印章（印章编码、名称、公钥证书）")
def unit_seal(unit_id: int, request: Request, principal: CurrentPrincipal) -> UnitSealOut:
    with reading(request) as session:
        seal = seals.unit_seal(session, unit_id)
        return UnitSealOut(unit_id=seal.unit_id, es_id=seal.es_id, name=seal.name, cert=seal.public_key,
                           created_at=seal.created_at)


@router.get("/units/{unit_id}/seal.png", summary="单位电子印章的印模图像", response_class=Response)
def unit_seal_image(unit_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with reading(request) as session:
        image = seals.unit_seal(session, unit_id).image
    return Response(image, media_type="image/png")


@router.get("/cases/{case_id}/seal", summary="办结文书的盖章情况（空：尚无需盖章的文书）")
def case_seal(case_id: int, request: Request, principal: CurrentPrincipal) -> SealStateOut | None:
    with reading(request) as session:
        state = seals.case_seal(session, principal=principal, case_id=case_id)
        return SealStateOut(**state.__dict__) if state is not None else None


@router.get("/cases/{case_id}/sealed-result.pdf", summary="已盖章的办结文书 PDF", response_class=Response)
def sealed_result(case_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with reading(request) as session:
        _number, content = seals.sealed_file(session, principal=principal, case_id=case_id)
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=sealed-result-{case_id}.pdf"})


@router.get("/cases/{case_id}/archive-package", summary="档案信息包与四性检测报告")
def archive_package(case_id: int, request: Request, principal: CurrentPrincipal) -> ArchivePackageOut:
    with reading(request) as session:
        row = archiving.package_of(session, principal=principal, case_id=case_id)
        return ArchivePackageOut(case_id=row.case_id, archival_code=row.archival_code, state=row.state, sm3=row.sm3,
                                 passed=row.passed, built_at=row.built_at, transferred_at=row.transferred_at,
                                 receipt=row.receipt, report=row.report)


@router.get("/cases/{case_id}/archive-package.zip", summary="下载档案信息包（ZIP）", response_class=Response)
def archive_package_file(case_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with reading(request) as session:
        row = archiving.package_of(session, principal=principal, case_id=case_id)
        content = row.package
    return Response(content, media_type="application/zip",
                    headers={"Content-Disposition": f"attachment; filename=archive-package-{case_id}.zip"})


@router.post("/archive/check", summary="对档案信息包做四性检测（真实性、完整性、可用性、安全性）")
def check(request: Request, principal: CurrentPrincipal,
                file: Annotated[UploadFile, File(description="档案信息包（ZIP）")]) -> dict[str, Any]:
    return four_checks(_read(request, file))
