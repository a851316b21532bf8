"""Attachments: content-checked uploads stored once per SHA-256, the size cap, orphan sweeping, and who may download."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from tests.factories import City, linear_process, make_city, post_rule, publish_matter
from xietong.cases import attachments, service
from xietong.cases.filetypes import FORMATS, MAX_ZIP_ENTRIES, format_of
from xietong.cases.models import Attachment, Blob, CaseGrant
from xietong.catalog.forms import ALLOWED_FORMATS
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.demo.samples import pdf_bytes, png_bytes
from xietong.directory.models import Person
from xietong.errors import Forbidden, InvalidInput, NotFound, TooLarge
from xietong.security.principal import SYSTEM_PRINCIPAL, Grant, Principal

MB = 1024 * 1024
PROCESS = linear_process(("review", post_rule("finance")))
MATERIALS = [{"code": "M1", "name": "申请书", "required": True, "formats": ["pdf", "docx", "png"]}]


# --- real files, made here ---------------------------------------------------------------------------------


def jpeg_bytes() -> bytes:
    """A JFIF header (SOI, APP0) and EOI: what content detection looks at."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def docx_bytes(
    main_type: str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
) -> bytes:
    """A minimal WordprocessingML package (what Word needs to open it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{main_type}"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument"/></Relationships>',
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>申请书</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["单位", "金额"])
    sheet.append(["财政局", 12.5])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A version 3 OLE2 compound file (legacy Office container) holding these streams, each ≥ 4096 bytes."""
    end, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    fat = [fat_sector, end]  # sector 0: the FAT, sector 1: the directory
    data, entries = b"", []
    for index, (name, body) in enumerate(streams.items()):
        body = body.ljust(max(4096, -(-len(body) // 512) * 512), b"\0")
        first, count = len(fat), len(body) // 512
        fat += [*range(first + 1, first + count), end]
        right = index + 2 if index + 1 < len(streams) else no_stream
        entries.append(_dir_entry(name, 2, first, len(body), child=no_stream, right=right))
        data += body
    root = _dir_entry("Root Entry", 5, end, 0, child=1 if streams else no_stream, right=no_stream)
    directory = b"".join([root, *entries]).ljust(512, b"\0")
    assert len(directory) == 512 and len(fat) <= 128
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header += b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
    header += struct.pack("<I", 0) + struct.pack("<I", free) * 108
    fat_bytes = struct.pack("<128I", *(fat + [free] * (128 - len(fat))))
    return header + fat_bytes + directory + data


def _dir_entry(name: str, kind: int, start: int, size: int, *, child: int, right: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", 0xFFFFFFFF, right, child)
        + b"\0" * 36
        + struct.pack("<IQ", start, size)
    )


WORD_STREAM = b"\xec\xa5\xc1\x00" + b"\0" * 508


# --- fixtures and helpers ----------------------------------------------------------------------------------


@pytest.fixture
def files_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test settings with a data directory of this test's own and a 1 MB cap."""
    return settings.model_copy(update={"data_dir": tmp_path, "max_upload_mb": 1})


@pytest.fixture
def city(session: Session) -> City:
    return make_city(session)


def upload(
    session: Session, settings: Settings, principal: Principal, name: str, data: bytes, **extra: object
) -> Attachment:
    return attachments.store_upload(
        session,
        principal=principal,
        filename=name,
        stream=io.BytesIO(data),
        declared_type="application/octet-stream",
        material_code="M1",
        settings=settings,
        **extra,  # type: ignore[arg-type]
    )


def stored_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.blob_dir.rglob("*") if p.is_file())


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def refused(session: Session, settings: Settings, principal: Principal, name: str, data: bytes) -> InvalidInput:
    blobs, rows = count(session, Blob), count(session, Attachment)
    with pytest.raises(InvalidInput) as caught:
        upload(session, settings, principal, name, data)
    assert (count(session, Blob), count(session, Attachment)) == (blobs, rows)
    assert stored_files(settings) == []
    return caught.value


# --- storing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "make", "content_type"),
    [
        ("申请书.pdf", pdf_bytes, "application/pdf"),
        ("照片.PNG", png_bytes, "image/png"),
        ("扫描件.jpeg", jpeg_bytes, "image/jpeg"),
        ("说明.docx", docx_bytes, FORMATS["docx"].content_type),
        ("明细.xlsx", xlsx_bytes, FORMATS["xlsx"].content_type),
        (
            "公文.ofd",
            lambda: zip_bytes({"OFD.xml": b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>'}),
            "application/ofd",
        ),
        ("旧文档.doc", lambda: compound_file({"WordDocument": WORD_STREAM}), "application/msword"),
        ("旧表格.xls", lambda: compound_file({"Workbook": b"\x09\x08\x10\x00"}), "application/vnd.ms-excel"),
        ("材料.zip", lambda: zip_bytes({"a.txt": b"x", "b/c.pdf": pdf_bytes()}), "application/zip"),
        ("说明.txt", lambda: "第一行\n第二行\r\n".encode(), "text/plain; charset=utf-8"),
        ("说明-gbk.txt", lambda: "丽水市财政局".encode("gbk"), "text/plain; charset=gb18030"),
    ],
)
def test_an_allowed_file_is_stored_by_its_digest_with_the_type_its_content_shows(
    session: Session, files_settings: Settings, city: City, name: str, make: object, content_type: str
) -> None:
    data = make()  # type: ignore[operator]
    principal = city.principal(session, "office")
    attachment = upload(session, files_settings, principal, name, data)
    sha = hashlib.sha256(data).hexdigest()
    path = files_settings.data_dir / "blobs" / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == data
    assert (attachment.blob_sha256, attachment.size, attachment.content_type) == (sha, len(data), content_type)
    assert (attachment.case_id, attachment.uploaded_by_id, attachment.filename) == (None, principal.id, name)
    blob = session.get(Blob, sha)
    assert blob is not None and (blob.size, blob.content_type, blob.storage) == (len(data), content_type, "file")
    assert list((files_settings.blob_dir / "tmp").iterdir()) == []


def test_every_format_a_matter_may_ask_for_can_be_uploaded_and_is_named_back_from_its_type() -> None:
    assert set(FORMATS) == set(ALLOWED_FORMATS)
    assert {format_of(f.content_type) for f in FORMATS.values()} == set(ALLOWED_FORMATS)
    assert format_of("text/plain; charset=gb18030") == "txt"
    assert format_of("image/jpeg") == "jpg"
    assert format_of("text/html") is None


def test_identical_content_is_stored_once_and_shared(session: Session, files_settings: Settings, city: City) -> None:
    data = pdf_bytes("same")
    first = upload(session, files_settings, city.principal(session, "office"), "a.pdf", data)
    second = upload(session, files_settings, city.principal(session, "finance"), "另一个名字.pdf", data)
    assert first.id != second.id and first.blob_sha256 == second.blob_sha256
    assert session.scalar(select(func.count()).select_from(Blob).where(Blob.sha256 == first.blob_sha256)) == 1
    assert len(stored_files(files_settings)) == 1


class EndlessStream:
    """Yields zeros forever and counts what was read, to prove the reading stopped at the cap."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = b"%PDF" + b"\0" * (size - 4) if self.read_bytes == 0 else b"\0" * size
        self.read_bytes += len(chunk)
        return chunk


def test_an_oversized_stream_stops_at_the_cap_and_leaves_nothing(
    session: Session, files_settings: Settings, city: City
) -> None:
    stream = EndlessStream()
    blobs, rows = count(session, Blob), count(session, Attachment)
    with pytest.raises(TooLarge) as caught:
        attachments.store_upload(
            session,
            principal=city.principal(session, "office"),
            filename="大文件.pdf",
            stream=stream,
            declared_type="application/pdf",
            material_code=None,
            settings=files_settings,
        )
    assert caught.value.code == "upload_too_large" and "1 MB" in caught.value.detail
    assert MB < stream.read_bytes <= MB + attachments.CHUNK
    assert stored_files(files_settings) == []
    assert (count(session, Blob), count(session, Attachment)) == (blobs, rows)


def test_a_material_may_lower_the_cap_but_never_raise_it(
    session: Session, files_settings: Settings, city: City
) -> None:
    principal = city.principal(session, "office")
    data = pdf_bytes("x" * 2000)
    with pytest.raises(TooLarge):
        upload(session, files_settings, principal, "a.pdf", data, max_bytes=1000)
    assert stored_files(files_settings) == []
    big = pdf_bytes() + b"%" + b"0" * MB
    with pytest.raises(TooLarge):
        upload(session, files_settings, principal, "b.pdf", big, max_bytes=10 * MB)
    assert upload(session, files_settings, principal, "c.pdf", data, max_bytes=len(data)).size == len(data)


REFUSED = [
    ("setup.exe", b"MZ\x90\x00" + b"\0" * 100, "file_type_not_allowed"),
    ("申请书.pdf", b"MZ\x90\x00" + b"\0" * 100, "file_type_not_allowed"),
    ("page.html", b"<html><script>alert(1)</script></html>", "file_type_not_allowed"),
    ("申请书.pdf", b"<html><script>alert(1)</script></html>", "file_content_unknown"),
    ("说明.txt", b"<html><script>alert(1)</script></html>", "file_markup"),
    ("图.txt", b"\xef\xbb\xbf  <svg onload=alert(1)/>", "file_markup"),
    ("说明.txt", b"abc\x00def", "file_not_text"),
    ("照片.png", pdf_bytes(), "file_content_mismatch"),
    ("申请书.pdf", png_bytes(), "file_content_mismatch"),
    ("明细.docx", xlsx_bytes(), "file_content_mismatch"),
    ("说明.xlsx", docx_bytes(), "file_content_mismatch"),
    ("说明.zip", docx_bytes(), "file_content_mismatch"),
    ("申请书.txt", pdf_bytes(), "file_content_mismatch"),
    ("旧表格.doc", compound_file({"Workbook": b"x"}), "file_content_mismatch"),
    ("宏.docx", docx_bytes("application/vnd.ms-word.document.macroEnabled.main+xml"), "file_has_macros"),
    ("宏.doc", compound_file({"WordDocument": WORD_STREAM, "_VBA_PROJECT": b"x"}), "file_has_macros"),
    ("安装包.doc", compound_file({"SummaryInformation": b"x"}), "file_type_not_allowed"),
    (
        "幻灯片.docx",
        docx_bytes("application/vnd.openxmlformats-officedocument.presentationml.slide+xml"),
        "file_type_not_allowed",
    ),
    ("动画.png", b"GIF89a" + b"\0" * 20, "file_type_not_allowed"),
    ("坏的.zip", b"PK\x03\x04" + b"\0" * 40, "file_unreadable"),
    ("空的.pdf", b"", "file_empty"),
    ("没有扩展名", pdf_bytes(), "file_name_invalid"),
]


@pytest.mark.parametrize(("name", "data", "code"), REFUSED, ids=[f"{name}:{code}" for name, _, code in REFUSED])
def test_a_file_is_refused_for_what_it_is_not_for_what_it_is_called(
    session: Session, files_settings: Settings, city: City, name: str, data: bytes, code: str
) -> None:
    error = refused(session, files_settings, city.principal(session, "office"), name, data)
    assert error.code == code
    assert error.errors and error.errors[0].field == "file" and error.detail


def test_a_zip_with_too_many_entries_is_refused_before_it_is_listed(
    session: Session, files_settings: Settings, city: City
) -> None:
    data = zip_bytes({f"{i}.txt": b"" for i in range(MAX_ZIP_ENTRIES + 1)})
    assert refused(session, files_settings, city.principal(session, "office"), "多.zip", data).code == (
        "file_too_many_entries"
    )


def test_file_names_lose_directories_and_direction_tricks() -> None:
    assert attachments.clean_filename("C:\\fakepath\\申请书.pdf") == "申请书.pdf"
    assert attachments.clean_filename("../../etc/报告.pdf") == "报告.pdf"
    assert attachments.clean_filename("invoice\u202efdp.exe") == "invoicefdp.exe"
    long = attachments.clean_filename("长" * 300 + ".docx")
    assert len(long) == 255 and long.endswith(".docx")


def test_only_a_person_may_upload(session: Session, files_settings: Settings) -> None:
    with pytest.raises(Forbidden):
        upload(session, files_settings, SYSTEM_PRINCIPAL, "a.pdf", pdf_bytes())


# --- downloading -------------------------------------------------------------------------------------------


def submit_with(session: Session, city: City, attachment: Attachment) -> int:
    local = publish_matter(session, city, PROCESS, materials=MATERIALS)
    case_id, _ = service.submit_case(
        session,
        principal=city.principal(session, "office"),
        local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id,
        form={"title": "附件权限测试"},
        materials={"M1": [attachment.id]},
    )
    return case_id


def opens(session: Session, settings: Settings, principal: Principal, attachment_id: int) -> bool:
    try:
        meta, body = attachments.open_attachment(
            session, principal=principal, attachment_id=attachment_id, settings=settings
        )
    except NotFound:
        return False
    assert isinstance(body, Path) and body.read_bytes()[:4] == b"%PDF" and meta.id == attachment_id
    return True


def test_before_submission_only_the_uploader_may_download(
    session: Session, files_settings: Settings, city: City
) -> None:
    attachment = upload(session, files_settings, city.principal(session, "office"), "申请书.pdf", pdf_bytes())
    assert opens(session, files_settings, city.principal(session, "office"), attachment.id)
    assert not opens(session, files_settings, city.principal(session, "office", n=1), attachment.id)  # same unit
    assert not opens(session, files_settings, city.principal(session, "staffing"), attachment.id)
    assert opens(session, files_settings, SYSTEM_PRINCIPAL, attachment.id)


def test_after_submission_whoever_may_read_the_case_may_download(
    session: Session, files_settings: Settings, city: City
) -> None:
    attachment = upload(session, files_settings, city.principal(session, "office"), "申请书.pdf", pdf_bytes())
    case_id = submit_with(session, city, attachment)
    assert session.get(Attachment, attachment.id, populate_existing=True).case_id == case_id  # type: ignore[union-attr]
    may = {
        "uploader": city.principal(session, "office"),
        "applicant unit colleague": city.principal(session, "office", n=1),
        "handling unit": city.principal(session, "staffing", "leader_in_charge"),
    }
    for who, principal in may.items():
        assert opens(session, files_settings, principal, attachment.id), who
    outsider = city.principal(session, "big_data")
    assert not opens(session, files_settings, outsider, attachment.id)
    session.add(CaseGrant(case_id=case_id, person_id=outsider.id, kind="copy"))
    session.flush()
    assert opens(session, files_settings, outsider, attachment.id)
    supervisor = Principal(kind="person", id=None, grants=(Grant("supervisor", "region", region_id=city.region.id),))
    assert opens(session, files_settings, supervisor, attachment.id)


def test_an_unknown_attachment_reads_like_a_forbidden_one(
    session: Session, files_settings: Settings, city: City
) -> None:
    attachment = upload(session, files_settings, city.principal(session, "office"), "a.pdf", pdf_bytes())
    with pytest.raises(NotFound) as unknown:
        attachments.open_attachment(
            session,
            principal=city.principal(session, "office"),
            attachment_id=attachment.id + 10_000,
            settings=files_settings,
        )
    with pytest.raises(NotFound) as forbidden:
        attachments.open_attachment(
            session, principal=city.principal(session, "finance"), attachment_id=attachment.id, settings=files_settings
        )
    assert (unknown.value.code, unknown.value.detail) == (forbidden.value.code, forbidden.value.detail)


def test_download_headers_force_a_download_that_is_never_sniffed(
    session: Session, files_settings: Settings, city: City
) -> None:
    attachment = upload(session, files_settings, city.principal(session, "office"), '说明 "1".txt', "内容".encode())
    meta, _ = attachments.open_attachment(
        session, principal=city.principal(session, "office"), attachment_id=attachment.id, settings=files_settings
    )
    headers = attachments.download_headers(meta)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Length"] == str(len("内容".encode()))
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"__ _1_.txt\"; filename*=UTF-8''%E8%AF%B4%E6%98%8E%20%221%22.txt"
    )
    assert "sandbox" in headers["Content-Security-Policy"]


# --- orphans -----------------------------------------------------------------------------------------------


def test_the_sweep_removes_old_orphans_and_temporary_files_only(
    session: Session, files_settings: Settings, city: City
) -> None:
    kept = upload(session, files_settings, city.principal(session, "office"), "a.pdf", pdf_bytes("kept"))
    kept_path = attachments.blob_path(files_settings, kept.blob_sha256)
    old_orphan = attachments.blob_path(files_settings, "ab" * 32)
    new_orphan = attachments.blob_path(files_settings, "cd" * 32)
    stray = files_settings.blob_dir / "ab" / "ab" / "notes.txt"
    temp = files_settings.blob_dir / "tmp" / "upload-crashed"
    for path in (old_orphan, new_orphan, stray, temp):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"12345")
    two_hours_ago = time.time() - 7200
    for path in (kept_path, old_orphan, stray, temp):
        os.utime(path, (two_hours_ago, two_hours_ago))
    result = attachments.sweep_orphan_blobs(session, files_settings)
    assert (result.orphans_removed, result.temp_removed, result.bytes_freed) == (1, 1, 10)
    assert not old_orphan.exists() and not temp.exists()
    assert kept_path.exists() and new_orphan.exists() and stray.exists()


def test_a_rolled_back_upload_leaves_a_file_the_sweep_removes(
    db_engine: Engine, session: Session, files_settings: Settings, city: City
) -> None:
    savepoint = session.begin_nested()
    attachment = upload(session, files_settings, city.principal(session, "office"), "a.pdf", pdf_bytes("gone"))
    path = attachments.blob_path(files_settings, attachment.blob_sha256)
    savepoint.rollback()
    assert path.exists() and session.get(Blob, attachment.blob_sha256) is None
    later = utcnow() + attachments.SWEEP_GRACE * 2
    assert attachments.sweep_orphan_blobs(session, files_settings, now=later).orphans_removed == 1
    assert not path.exists()


# --- the same content from two transactions at once (real commits) -----------------------------------------


@pytest.fixture
def committed_uploader(db_engine: Engine) -> Iterator[Principal]:
    with unit_of_work(db_engine) as db:
        person = Person(employee_code=f"ATT{os.getpid()}", username=f"att-{os.getpid()}", name="上传测试")
        db.add(person)
        db.flush()
        person_id = person.id
    yield Principal(kind="person", id=person_id, name="上传测试")
    with unit_of_work(db_engine) as db:
        shas = list(db.scalars(select(Attachment.blob_sha256).where(Attachment.uploaded_by_id == person_id)))
        db.execute(delete(Attachment).where(Attachment.uploaded_by_id == person_id))
        db.execute(delete(Blob).where(Blob.sha256.in_(shas)))
        db.execute(delete(Person).where(Person.id == person_id))


@pytest.mark.committed
def test_two_uploads_of_the_same_content_in_parallel_both_commit_one_blob(
    db_engine: Engine, settings: Settings, tmp_path: Path, committed_uploader: Principal
) -> None:
    files = settings.model_copy(update={"data_dir": tmp_path})
    data = pdf_bytes(f"race {os.getpid()}")
    first_inserted, errors = threading.Event(), []

    def first() -> None:
        with unit_of_work(db_engine) as db:
            upload(db, files, committed_uploader, "first.pdf", data)
            first_inserted.set()
            time.sleep(0.3)  # the second upload now waits on our blob row (PG) or our write lock (SQLite)

    def second() -> None:
        first_inserted.wait(5)
        try:
            with unit_of_work(db_engine) as db:
                upload(db, files, committed_uploader, "second.pdf", data)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    with unit_of_work(db_engine) as db:
        rows = db.execute(
            select(Attachment.filename, Attachment.blob_sha256)
            .where(Attachment.uploaded_by_id == committed_uploader.id)
            .order_by(Attachment.filename)
        ).all()
        assert [name for name, _ in rows] == ["first.pdf", "second.pdf"]
        assert db.scalar(select(func.count()).select_from(Blob).where(Blob.sha256 == rows[0][1])) == 1
    assert len(stored_files(files)) == 1
