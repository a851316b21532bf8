"""The blob stores: the local directory (default), the database (the shared store), and a real full disk."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import City, make_city
from tests.faults.fullfs import files_under, tiny_tmpfs
from xietong.cases import attachments
from xietong.cases.models import Attachment, Blob
from xietong.config import Settings
from xietong.errors import InsufficientStorage

TEXT = "第一行：申请增加编制\n".encode() * 40


@pytest.fixture
def city(session: Session) -> City:
    return make_city(session)


def _upload(session: Session, settings: Settings, city: City, data: bytes, name: str = "说明.txt") -> Attachment:
    return attachments.store_upload(
        session, principal=city.principal(session, "office"), filename=name, stream=io.BytesIO(data),
        declared_type="text/plain", material_code="M1", settings=settings,
    )


def _read(session: Session, settings: Settings, city: City, attachment_id: int) -> bytes:
    _, content = attachments.open_attachment(
        session, principal=city.principal(session, "office"), attachment_id=attachment_id, settings=settings
    )
    return content.read_bytes() if isinstance(content, Path) else b"".join(content)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_database_store_keeps_the_content_in_the_blob_row_and_no_file(
    session: Session, settings: Settings, city: City, tmp_path: Path
) -> None:
    shared = settings.model_copy(update={"data_dir": tmp_path, "blob_store": "database"})
    data = TEXT + b"db"
    attachment = _upload(session, shared, city, data)
    blob = session.get(Blob, attachment.blob_sha256)
    assert blob is not None and blob.storage == "db" and blob.content == data
    assert files_under(tmp_path) == []  # nothing on this host's disk: another host reads it from the database
    assert _read(session, shared, city, attachment.id) == data


def test_reading_follows_the_row_so_switching_the_store_keeps_old_files_readable(
    session: Session, settings: Settings, city: City, tmp_path: Path
) -> None:
    local = settings.model_copy(update={"data_dir": tmp_path, "blob_store": "local"})
    shared = local.model_copy(update={"blob_store": "database"})
    on_disk = _upload(session, local, city, TEXT + b"local")
    in_db = _upload(session, shared, city, TEXT + b"shared")
    assert [p.name for p in files_under(tmp_path / "blobs") if p.parent.name != "tmp"] == [on_disk.blob_sha256]
    for settings_now in (local, shared):
        assert _read(session, settings_now, city, on_disk.id) == TEXT + b"local"
        assert _read(session, settings_now, city, in_db.id) == TEXT + b"shared"


def test_a_rolled_back_upload_to_the_database_store_leaves_nothing_anywhere(
    session: Session, settings: Settings, city: City, tmp_path: Path
) -> None:
    shared = settings.model_copy(update={"data_dir": tmp_path, "blob_store": "database"})
    blobs, rows = _count(session, Blob), _count(session, Attachment)
    savepoint = session.begin_nested()
    _upload(session, shared, city, TEXT + b"rolled back")
    savepoint.rollback()
    assert (_count(session, Blob), _count(session, Attachment)) == (blobs, rows)
    assert files_under(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"), reason="mounting a tmpfs needs root")
def test_a_full_disk_refuses_the_upload_clearly_and_leaves_nothing_half_written(
    session: Session, settings: Settings, city: City, tmp_path: Path
) -> None:
    with tiny_tmpfs(tmp_path / "small", size_kib=64) as small:
        full = settings.model_copy(update={"data_dir": small, "blob_store": "local", "max_upload_mb": 1})
        first = _upload(session, full, city, TEXT)  # a small file still fits
        blobs, rows = _count(session, Blob), _count(session, Attachment)
        big = "材料内容".encode() * 20_000  # 240 KB: more than the whole file system
        with pytest.raises(InsufficientStorage) as refused:
            _upload(session, full, city, big)
        assert refused.value.code == "storage_full" and "存储空间已满" in refused.value.detail
        assert (_count(session, Blob), _count(session, Attachment)) == (blobs, rows)
        assert files_under(small) == [attachments.blob_path(full, first.blob_sha256)]  # no temporary left behind
        assert _read(session, full, city, first.id) == TEXT
