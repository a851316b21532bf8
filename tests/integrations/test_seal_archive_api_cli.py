"""Verifying a sealed file and checking an archive package by API and by command line, on the real app."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

import xietong.cli.seal  # noqa: F401  (registers ``seal`` and ``archive``)
from tests.integrations.archive.test_package import rezip
from tests.integrations.cases import ALL, archive, committed, concluded_case
from tests.web.conftest import Api, api  # noqa: F401  (fixture)
from xietong.cases.changelog import sequence_events
from xietong.cli import app
from xietong.db.session import unit_of_work
from xietong.documents.issue import issue_documents
from xietong.integrations.archive import service as archiving
from xietong.integrations.seal import service as seals


@pytest.fixture(scope="module")
def archived(api: Api, db_engine: Engine) -> int:  # noqa: F811
    """A case of the API's city concluded, sealed by the local signing service, archived and packed."""
    from xietong.config import Settings

    local = Settings(demo=True, secret_key="a-test-instance-secret-that-is-long-enough-42")
    with unit_of_work(db_engine) as session:
        _city, case_id = concluded_case(session, api.city)
    committed(db_engine, seals.seal_results, settings=local, batch=ALL)
    committed(db_engine, archive, api.city, case_id)
    committed(db_engine, sequence_events)
    committed(db_engine, issue_documents, batch=ALL)
    committed(db_engine, seals.seal_results, settings=local, batch=ALL)
    committed(db_engine, archiving.archive_cases, settings=local, batch=ALL)
    return case_id


def flipped(content: bytes, at: int) -> bytes:
    changed = bytearray(content)
    changed[at] ^= 0x01
    return bytes(changed)


def test_the_sealed_result_is_downloaded_and_verified_by_api(api: Api, archived: int) -> None:  # noqa: F811
    client = api.login("staffing.clerk.0")
    state = client.get(f"/api/v1/cases/{archived}/seal").json()
    assert state["state"] == "sealed" and state["verification"]["ok"]
    sealed = client.get(f"/api/v1/cases/{archived}/sealed-result.pdf")
    assert sealed.status_code == 200 and sealed.headers["content-type"] == "application/pdf"
    verified = client.post("/api/v1/seals/verify", files={"file": ("r.pdf", sealed.content, "application/pdf")})
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["ok"] and body["known_seal"]["unit"] and body["provider"] == "local"
    tampered = client.post("/api/v1/seals/verify",
                           files={"file": ("r.pdf", flipped(sealed.content, 300), "application/pdf")}).json()
    assert not tampered["ok"] and "文件内容与签名时的 SM3 摘要不符：文件已被改动" in tampered["problems"]
    outsider = api.login(api.other.people["staffing.clerk.0"])  # someone who may not read the case
    assert outsider.get(f"/api/v1/cases/{archived}/sealed-result.pdf").status_code == 404
    assert api.client().post("/api/v1/seals/verify", files={"file": ("r.pdf", b"x")}).status_code == 401


def test_the_archive_package_and_its_report_by_api_and_a_tampered_one_rechecked(
        api: Api, archived: int) -> None:  # noqa: F811
    client = api.login("staffing.clerk.0")
    package = client.get(f"/api/v1/cases/{archived}/archive-package").json()
    assert package["passed"] and package["report"]["passed"] and package["state"] == "built"
    content = client.get(f"/api/v1/cases/{archived}/archive-package.zip").content
    assert client.post("/api/v1/archive/check", files={"file": ("p.zip", content)}).json()["passed"]
    removed = rezip(content, lambda files: files.pop("events.json"))
    report = client.post("/api/v1/archive/check", files={"file": ("p.zip", removed)}).json()
    assert not report["passed"] and not report["checks"]["integrity"]["passed"]


def test_the_command_line_verifies_and_checks_files(api: Api, archived: int, tmp_path: Path) -> None:  # noqa: F811
    client = api.login("staffing.clerk.0")
    sealed = tmp_path / "sealed.pdf"
    sealed.write_bytes(client.get(f"/api/v1/cases/{archived}/sealed-result.pdf").content)
    result = CliRunner().invoke(app, ["seal", "verify", str(sealed)])
    assert result.exit_code == 0 and "签章有效" in result.output, result.output
    sealed.write_bytes(flipped(sealed.read_bytes(), 300))
    result = CliRunner().invoke(app, ["seal", "verify", str(sealed)])
    assert result.exit_code == 1 and "已被改动" in result.output

    package = tmp_path / "package.zip"
    content = client.get(f"/api/v1/cases/{archived}/archive-package.zip").content
    package.write_bytes(content)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["archive", "check", str(package)])
    assert result.exit_code == 0 and "四性检测通过" in result.output, result.output
    package.write_bytes(rezip(content, lambda files: files.pop("opinions.xml")))
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["archive", "check", str(package)])
    assert result.exit_code == 1 and "四性检测未通过" in result.output


def test_a_units_seal_is_public_but_its_private_key_is_not(api: Api, archived: int) -> None:  # noqa: F811
    client = api.login("staffing.clerk.0")
    unit_id = api.city.units["staffing"].id
    seal = client.get(f"/api/v1/units/{unit_id}/seal")
    assert seal.status_code == 200, seal.text
    body = seal.json()
    assert body["es_id"] == f"ES{unit_id:010d}" and body["cert"].startswith("04") and len(body["cert"]) == 130
    assert "private" not in seal.text.lower() and "sm4" not in seal.text.lower()
    sealed = client.get(f"/api/v1/cases/{archived}/sealed-result.pdf").content
    verified = client.post("/api/v1/seals/verify", files={"file": ("r.pdf", sealed)}).json()
    assert verified["known_seal"]["es_id"] == body["es_id"]
    image = client.get(f"/api/v1/units/{unit_id}/seal.png")
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    missing = client.get(f"/api/v1/units/{api.city.units['finance'].id}/seal")
    assert missing.status_code == 404 and missing.json()["code"] == "seal_not_found"
