"""Attachments (附件): uploads checked by content and stored once per SHA-256, permission-checked downloads.

Storing (``store_upload``): the stream is read in 64 KiB chunks into a temporary file under
``<data_dir>/blobs/tmp`` while it is hashed; passing the size cap stops the reading at once and leaves nothing
behind. The content is then identified (``xietong.cases.filetypes``) and must match the name's extension, and is
handed to the configured store (``xietong.cases.storage``): the local directory moves the file into place with
``os.replace`` (atomic, same file system) at ``blobs/<sha[:2]>/<sha[2:4]>/<sha>``; the database store keeps it in
the ``blob`` row, in the upload's transaction. Identical content is kept once. A full disk is refused with
``InsufficientStorage`` (507) and leaves no temporary file. The ``blob`` row is inserted with
``ON CONFLICT DO NOTHING`` (two uploads of the same content in parallel both succeed, on SQLite and PostgreSQL),
and an ``attachment`` row owned by the uploader with ``case_id`` NULL until the case is submitted.

Reading (``open_attachment``): before submission only its uploader; afterwards whoever may read the case
(``can(principal, "read", …)``). Both a missing attachment and one the principal may not read are
``NotFound`` with the same wording, so ids cannot be probed. Serve the body with ``download_headers`` —
``Content-Disposition: attachment`` and ``nosniff``, so a download never runs in the browser.

Orphans (local directory only; the database store cannot have any): the file is written before the
transaction commits, so a rollback (or a crash) leaves a file with no ``blob`` row. ``sweep_orphan_blobs``
deletes such files, and stale temporary files, once they are older than a grace period (default one hour, far
longer than any upload transaction). An upload that finds its file already on disk touches it first, so a file
about to be claimed is never old. What remains is a window of microseconds between the sweeper's last look and
its unlink, should an upload of exactly that orphaned content commit in it; run the sweep from one worker,
e.g. nightly.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from xietong.cases.filetypes import FORMAT_BY_EXTENSION, HEAD_BYTES, allowed_extensions, detect_format, refusal
from xietong.cases.models import Attachment, Blob, Case, CaseGrant
from xietong.cases.service.common import facts
from xietong.cases.storage import LocalDirectory, insert_blob, no_space_is_refused, store_for, store_of
from xietong.cases.uploaders import uploaded_by, uploader
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.directory.models import Unit
from xietong.errors import FieldProblem, Forbidden, InvalidInput, NotFound, TooLarge
from xietong.security.permissions import can
from xietong.security.principal import Principal

CHUNK = 64 * 1024
MAX_FILENAME = 255
MAX_MATERIAL_CODE = 20
SWEEP_GRACE = timedelta(hours=1)
_SHA_CHARS = frozenset("0123456789abcdef")


class Readable(Protocol):
    """Anything with ``read(size)``: an open file, ``UploadFile.file``, a socket reader."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class AttachmentMeta:
    """What a download needs to know besides the bytes."""

    id: int
    case_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str
    material_code: str | None
    uploaded_by_id: int | None
    uploaded_at: datetime


@dataclass(frozen=True)
class SweepResult:
    orphans_removed: int
    temp_removed: int
    bytes_freed: int


def blob_path(settings: Settings, sha256: str) -> Path:
    """Where the content with this digest lives in the local directory store."""
    return LocalDirectory(settings.blob_dir).path(sha256)


def store_upload(
    session: Session,
    *,
    principal: Principal,
    filename: str,
    stream: Readable,
    declared_type: str | None,
    material_code: str | None,
    settings: Settings,
    max_bytes: int | None = None,
) -> Attachment:
    """Keep an uploaded file for a future case; the content decides its type. ``max_bytes`` may only lower the cap.

    ``declared_type`` (the client's Content-Type) is never trusted; it is only kept in a refusal's ``extra``.
    """
    if principal.kind not in ("person", "client") or principal.id is None:
        raise Forbidden(code="upload_person_only", detail="只有登录的人员或对接应用可以上传附件")
    if material_code is not None and not 0 < len(material_code) <= MAX_MATERIAL_CODE:
        raise InvalidInput(code="bad_material_code", detail=f"材料编码不正确：{material_code[:40]}")
    stored = store_file(session, filename=filename, stream=stream, declared_type=declared_type, settings=settings,
                        max_bytes=max_bytes)
    attachment = Attachment(
        blob_sha256=stored.sha256,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        material_code=material_code,
        **uploader(principal),
        uploaded_at=utcnow(),
    )
    session.add(attachment)
    session.flush()
    return attachment


@dataclass(frozen=True)
class StoredFile:
    """A file kept in the blob store: its cleaned name, digest, size and the type found in its content."""

    filename: str
    sha256: str
    size: int
    content_type: str


def store_file(
    session: Session, *, filename: str, stream: Readable, declared_type: str | None, settings: Settings,
    max_bytes: int | None = None,
) -> StoredFile:
    """Receive, check by content and keep one file (see the module doc); the caller writes the row that names it."""
    name = clean_filename(filename)
    expected = _extension_format(name)
    cap = settings.max_upload_mb * 1024 * 1024
    cap = cap if max_bytes is None else min(max_bytes, cap)
    temp = _receive(stream, settings, cap)
    try:
        try:
            detected = detect_format(temp.path, temp.head, expected)
        except InvalidInput as exc:
            exc.extra["declared_type"] = declared_type
            raise
        store = store_for(settings)
        content = store.put(session, temp.sha256, temp.path)
    finally:
        temp.path.unlink(missing_ok=True)
    insert_blob(session, sha256=temp.sha256, size=temp.size, content_type=detected.content_type,
                storage=store.storage, content=content)
    return StoredFile(name, temp.sha256, temp.size, detected.content_type)


def open_attachment(
    session: Session, *, principal: Principal, attachment_id: int, settings: Settings
) -> tuple[AttachmentMeta, Path | Iterator[bytes]]:
    """An attachment's metadata and content (a file path, or chunks for database-stored blobs), if allowed."""
    row = session.execute(
        select(Attachment, Blob.storage)
        .join(Blob, Blob.sha256 == Attachment.blob_sha256)
        .where(Attachment.id == attachment_id)
    ).first()
    if row is None or not _may_read(session, principal, row.Attachment):
        raise NotFound(code="attachment_not_found", detail="附件不存在，或您无权查看")
    attachment: Attachment = row.Attachment
    meta = AttachmentMeta(
        id=attachment.id,
        case_id=attachment.case_id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.blob_sha256,
        material_code=attachment.material_code,
        uploaded_by_id=attachment.uploaded_by_id,
        uploaded_at=attachment.uploaded_at,
    )
    return meta, store_of(row.storage, settings).open(session, meta.sha256)


def download_headers(meta: AttachmentMeta) -> dict[str, str]:
    """Response headers for a download: always a download, never sniffed, rendered or cached by others."""
    return {
        "Content-Type": meta.content_type,
        "Content-Length": str(meta.size),
        "Content-Disposition": content_disposition(meta.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one in RFC 5987 form (Chinese names survive)."""
    stem, _, ext = filename.rpartition(".")
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in stem)
    if not fallback.strip("_ "):
        fallback = "attachment"
    return f"attachment; filename=\"{fallback}.{ext}\"; filename*=UTF-8''{quote(filename, safe='')}"


def clean_filename(filename: str) -> str:
    """The base name without directories, control or direction-override characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.strip().lstrip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem.strip() or not ext:
        raise _bad_name("文件名缺少扩展名，无法判断文件类型")
    if len(name) > MAX_FILENAME:
        name = f"{stem[: MAX_FILENAME - len(ext) - 1]}.{ext}"
    return name


def sweep_orphan_blobs(
    session: Session, settings: Settings, *, grace: timedelta = SWEEP_GRACE, now: datetime | None = None
) -> SweepResult:
    """Delete blob files without a ``blob`` row, and temporary files, older than ``grace`` (see the module doc)."""
    cutoff = ((now or utcnow()) - grace).timestamp()
    root = settings.blob_dir
    if not root.is_dir():
        return SweepResult(0, 0, 0)
    temp_removed = freed = 0
    for path in (root / "tmp").glob("*"):
        size = _remove_if_old(path, cutoff)
        if size is not None:
            temp_removed += 1
            freed += size
    candidates = {p.name: p for p in root.glob("??/??/*") if _is_digest(p.name) and _mtime(p) < cutoff}
    known: set[str] = set()
    names = sorted(candidates)
    for start in range(0, len(names), 500):
        batch = names[start : start + 500]
        known.update(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(batch))))
    orphans = 0
    for name in names:
        if name not in known:
            size = _remove_if_old(candidates[name], cutoff)
            if size is not None:
                orphans += 1
                freed += size
    return SweepResult(orphans, temp_removed, freed)


# --- helpers --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Received:
    path: Path
    sha256: str
    size: int
    head: bytes


def _extension_format(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    fmt = FORMAT_BY_EXTENSION.get(ext)
    if fmt is None:
        raise refusal("file_type_not_allowed", f"不接受 .{ext[:20]} 文件；允许的类型：{allowed_extensions()}")
    return fmt


def _receive(stream: Readable, settings: Settings, cap: int) -> _Received:
    """Copy the stream to a temporary file while hashing; stop as soon as it passes ``cap`` bytes."""
    temp_dir = settings.blob_dir / "tmp"
    digest = hashlib.sha256()
    size = 0
    head = b""
    with no_space_is_refused():
        temp_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=temp_dir, prefix="upload-")
    path = Path(name)
    try:
        with no_space_is_refused(), os.fdopen(handle, "wb") as file:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise TooLarge(
                        code="upload_too_large",
                        detail=f"文件超过 {cap / (1024 * 1024):g} MB 的大小上限，未保存",
                        extra={"max_bytes": cap},
                    )
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                digest.update(chunk)
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise refusal("file_empty", "上传的文件是空的")
    return _Received(path, digest.hexdigest(), size, head)


def _may_read(session: Session, principal: Principal, attachment: Attachment) -> bool:
    if principal.kind == "system":
        return True
    if attachment.case_id is None:
        return uploaded_by(attachment, principal)
    case = (
        session.execute(
            select(Case.__table__, Unit.path.label("handling_unit_path"))
            .join(Unit, Unit.id == Case.handling_unit_id)
            .where(Case.id == attachment.case_id)
        )
        .mappings()
        .one()
    )
    granted = principal.kind == "person" and bool(
        session.scalar(
            select(exists().where(CaseGrant.case_id == attachment.case_id, CaseGrant.person_id == principal.id))
        )
    )
    return can(principal, "read", facts(dict(case)), granted=granted)


def _remove_if_old(path: Path, cutoff: float) -> int | None:
    """Unlink ``path`` if it is a file still older than ``cutoff``; its size when removed."""
    with contextlib.suppress(FileNotFoundError):
        stat = path.stat()
        if path.is_file() and stat.st_mtime < cutoff:
            path.unlink()
            return stat.st_size
    return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _is_digest(name: str) -> bool:
    return len(name) == 64 and set(name) <= _SHA_CHARS


def _bad_name(message: str) -> InvalidInput:
    return InvalidInput(code="file_name_invalid", detail=message, errors=[FieldProblem("file", message, "file_name")])
