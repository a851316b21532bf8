"""The archive package of an archived case and its 四性检测: a fresh package passes all four, and each kind
of tampering — a document byte, a manifest hash, a removed item, the signature, the event log, executable
content — is found on re-check."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integrations.cases import ALL, archive, concluded_case
from xietong.cases.changelog import sequence_events
from xietong.cases.models import Event
from xietong.config import Settings
from xietong.integrations.archive import service as archiving
from xietong.integrations.archive.check import four_checks
from xietong.integrations.archive.models import ArchivePackage
from xietong.integrations.archive.package import MANIFEST, REPORT, SIGNATURE, zip_package
from xietong.integrations.outbound import OUTBOUND
from xietong.integrations.seal import service as seals
from xietong.integrations.seal import sm2

LOCAL = Settings(demo=True, secret_key="a-test-instance-secret-that-is-long-enough-42")


@pytest.fixture
def package(session: Session) -> ArchivePackage:
    city, case_id = concluded_case(session)
    archive(session, city, case_id)
    assert archiving.archive_cases(session, settings=LOCAL, batch=ALL) == 0  # the result document is not sealed yet
    seals.seal_results(session, settings=LOCAL, batch=ALL)
    sequence_events(session)
    assert archiving.archive_cases(session, settings=LOCAL, batch=ALL) >= 1
    row = session.scalar(select(ArchivePackage).where(ArchivePackage.case_id == case_id))
    assert row is not None
    return row


def entries(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive_file:
        return {name: archive_file.read(name) for name in archive_file.namelist()}


def failed(report: dict) -> dict[str, list[str]]:  # type: ignore[type-arg]
    return {name: [i["detail"] for i in check["items"] if not i["passed"]]
            for name, check in report["checks"].items() if not check["passed"]}


def rezip(package: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    files = entries(package)
    change(files)
    return zip_package(list(files.items()))


def test_an_archived_case_is_packed_checked_and_queued_for_transfer(session: Session, package: ArchivePackage) -> None:
    report = package.report
    assert report["passed"] and package.passed and package.state == "built", failed(report)
    assert set(report["checks"]) == {"authenticity", "integrity", "usability", "security"}
    files = entries(package.package)
    assert {"metadata.xml", "opinions.xml", "events.json", MANIFEST, SIGNATURE, REPORT,
            "documents/approval-sheet.pdf"} <= set(files)
    assert b"/Type /XTSeal" in next(data for name, data in files.items() if name.endswith("conclusion_notice.pdf"))
    assert json.loads(files[REPORT])["passed"]  # the report travels with the package
    manifest = files[MANIFEST].decode()
    assert sm2.sm3(files["metadata.xml"]) in manifest and 'SM3="' in manifest
    events = json.loads(files["events.json"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] in {"case.archived", "case.result_sealed"}
    metadata = files["metadata.xml"].decode()
    assert package.archival_code in metadata and "<保管期限>D30</保管期限>" in metadata
    assert four_checks(package.package)["passed"]  # re-check of the kept package
    [message] = session.execute(select(OUTBOUND.c.channel, OUTBOUND.c.payload)
                                .where(OUTBOUND.c.channel == "archive", OUTBOUND.c.key == str(package.case_id))).all()
    assert message.payload["package_sm3"] == package.sm3 == sm2.sm3(package.package)


def test_a_changed_document_byte_is_found(package: ArchivePackage) -> None:
    def change(files: dict[str, bytes]) -> None:
        name = "documents/approval-sheet.pdf"
        data = bytearray(files[name])
        data[len(data) // 2] ^= 0x01
        files[name] = bytes(data)

    report = four_checks(rezip(package.package, change))
    assert not report["passed"]
    assert failed(report)["authenticity"] == ["SM3 或大小与清单不符：内容已被改动"]


def test_a_sealed_document_changed_fails_its_hash_and_its_seal(package: ArchivePackage) -> None:
    def change(files: dict[str, bytes]) -> None:
        name = next(n for n in files if n.endswith("conclusion_notice.pdf"))
        data = bytearray(files[name])
        data[200] ^= 0x01
        files[name] = bytes(data)

    problems = failed(four_checks(rezip(package.package, change)))["authenticity"]
    assert "SM3 或大小与清单不符：内容已被改动" in problems
    assert "文件内容与签名时的 SM3 摘要不符：文件已被改动" in problems


def test_a_manifest_hash_changed_breaks_the_manifests_signature(package: ArchivePackage) -> None:
    def change(files: dict[str, bytes]) -> None:
        digest = sm2.sm3(files["opinions.xml"])
        files[MANIFEST] = files[MANIFEST].replace(digest.encode(), ("0" * 64).encode())

    problems = failed(four_checks(rezip(package.package, change)))["authenticity"]
    assert any(p.startswith("文件内容与签名时的 SM3 摘要不符") for p in problems)  # the manifest's own seal
    assert "SM3 或大小与清单不符：内容已被改动" in problems


def test_a_removed_item_is_missing_from_the_integrity_check(package: ArchivePackage) -> None:
    report = four_checks(rezip(package.package, lambda files: files.pop("opinions.xml")))
    assert failed(report)["integrity"] == ["缺少：opinions.xml"]


def test_a_changed_signature_or_event_log_is_found(package: ArchivePackage) -> None:
    def signature(files: dict[str, bytes]) -> None:
        value = json.loads(files[SIGNATURE])
        value["toSign"]["timeInfo"] = "2020-01-01T00:00:00+00:00"
        files[SIGNATURE] = json.dumps(value).encode()

    assert failed(four_checks(rezip(package.package, signature)))["authenticity"] == [
        "SM2 签名验证失败：签名或签名信息已被改动"]

    def events(files: dict[str, bytes]) -> None:
        log = json.loads(files["events.json"])
        log[1]["delta"]["note"] = "改过"
        files["events.json"] = json.dumps(log, ensure_ascii=False).encode()

    problems = failed(four_checks(rezip(package.package, events)))["authenticity"]
    assert "第 2 个事件的哈希与记录不符" in problems


def test_executable_content_and_unlisted_files_are_refused(package: ArchivePackage) -> None:
    def add(files: dict[str, bytes]) -> None:
        files["documents/readme.pdf"] = b"MZ\x90\x00 a program"
        name = "documents/approval-sheet.pdf"
        files[name] = re.sub(rb"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (x) >>",
                             files[name])

    found = failed(four_checks(rezip(package.package, add)))
    assert "清单外的条目：documents/readme.pdf" in found["integrity"]
    assert any("可执行程序" in p and "含脚本" in p for p in found["security"])
    assert "usability" not in found or all("readme" not in p for p in found["usability"])


def test_paths_leaving_the_package_and_junk_are_refused() -> None:
    evil = zip_package([("../../etc/passwd", b"x")])
    assert failed(four_checks(evil))["security"] == ["../../etc/passwd：路径指向信息包之外"]
    junk = four_checks(b"not a zip")
    assert not junk["passed"] and set(failed(junk)) == {"authenticity", "integrity", "usability", "security"}


def test_the_package_is_recorded_on_no_event_until_transferred(session: Session, package: ArchivePackage) -> None:
    types = session.scalars(select(Event.type).where(Event.case_id == package.case_id)).all()
    assert "case.archive_transferred" not in types


def test_active_content_is_sought_in_pdf_objects_not_in_the_bytes_of_their_streams() -> None:
    """Compressed image, font or signature data hold any three bytes by chance: "/JS" there is no script (it
    refused a sound package now and then); in a dictionary, or in a compressed object stream, it is one."""
    import zlib

    from xietong.integrations.archive.check import _pdf_active

    image = b"%PDF-1.4\n1 0 obj << /Type /XObject /Length 9 >> stream\nxx/JS yy\nendstream endobj\n"
    assert _pdf_active(image) is None
    script = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (x) >> >> endobj"
    assert _pdf_active(script) == "JavaScript"
    hidden = (b"%PDF-1.5\n5 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >> stream\n"
              + zlib.compress(b"1 0 << /JS (x) >>") + b"\nendstream endobj")
    assert _pdf_active(hidden) == "JS"
    broken = b"%PDF-1.5\n5 0 obj << /Type /ObjStm /N 1 >> stream\nnot deflate\nendstream endobj"
    assert _pdf_active(broken) == "无法检查的对象流"
