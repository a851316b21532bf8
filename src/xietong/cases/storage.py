"""Where file content lives: one ``BlobStore`` interface, chosen by ``XIETONG_BLOB_STORE``.

- ``local`` (the embedded default): files under ``<data_dir>/blobs/<sha[:2]>/<sha[2:4]>/<sha>``, moved into
  place with an atomic ``os.replace`` and an fsync of the directory. Only processes that see that directory
  (one host, or a shared mount) can serve them.
- ``database``: the content in the ``blob`` row itself (``storage = 'db'``, ``content`` bytea/BLOB), written in
  the upload's own transaction — it commits or rolls back with the attachment row, so there are no orphans
  and every host that reaches PostgreSQL sees every file. This is the tested shared store.

Every ``blob`` row names the store that holds its content (``blob.storage``), and reading follows the row,
not the setting: switching the setting later keeps older files readable.

An S3-compatible store is the extension point: implement ``put`` (upload the verified temporary file under
its digest — idempotent, since identical content may be stored twice) and ``open`` (return chunks), give it a
``storage`` name of at most 12 characters, and add it to ``store_for`` and ``STORES``. None ships: no
maintained client is part of the supported installation, and a store that is not tested is not offered.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xietong.cases.models import Blob
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.errors import InsufficientStorage, Unavailable

CHUNK = 64 * 1024
# Error numbers that mean "no room": a full file system, or a quota.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class BlobStore(Protocol):
    """Keeps verified content under its SHA-256 and hands it back; ``storage`` is what ``blob.storage`` records."""

    storage: str

    def put(self, session: Session, sha256: str, temp: Path) -> bytes | None:
        """Keep the content of ``temp`` (already hashed and checked); what goes in ``blob.content``, if anything."""
        ...

    def open(self, session: Session, sha256: str) -> Path | Iterator[bytes]:
        """The content: a file to send, or chunks."""
        ...


class LocalDirectory:
    """Files in the data directory (see the module doc)."""

    storage = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, session: Session, sha256: str, temp: Path) -> bytes | None:
        final = self.path(sha256)
        with no_space_is_refused():
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.is_file():
                os.utime(final)  # a file about to be claimed again must not look old to the sweeper
                return None
            os.replace(temp, final)
            if hasattr(os, "O_DIRECTORY"):  # make the rename durable before the row that points at it commits
                directory = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        return None

    def open(self, session: Session, sha256: str) -> Path | Iterator[bytes]:
        path = self.path(sha256)
        if not path.is_file():
            raise Unavailable(code="blob_missing", detail="附件内容暂时无法读取，请联系系统管理员")
        return path


class DatabaseStore:
    """Content in the ``blob`` row, committed with the attachment (see the module doc)."""

    storage = "db"

    def put(self, session: Session, sha256: str, temp: Path) -> bytes | None:
        return temp.read_bytes()

    def open(self, session: Session, sha256: str) -> Path | Iterator[bytes]:
        content = session.scalar(select(Blob.content).where(Blob.sha256 == sha256))
        if content is None:
            raise Unavailable(code="blob_missing", detail="附件内容暂时无法读取，请联系系统管理员")
        return (content[i : i + CHUNK] for i in range(0, len(content), CHUNK))


STORES = ("local", "database")


def store_for(settings: Settings) -> BlobStore:
    """The store new uploads go to."""
    if settings.blob_store == "database":
        return DatabaseStore()
    return LocalDirectory(settings.blob_dir)


def store_of(storage: str, settings: Settings) -> BlobStore:
    """The store holding a ``blob`` row's content, by the row's ``storage`` column."""
    return DatabaseStore() if storage == "db" else LocalDirectory(settings.blob_dir)


@contextlib.contextmanager
def no_space_is_refused() -> Iterator[None]:
    """Turn a full disk (or quota) into ``InsufficientStorage``; any other OS error stays what it is."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        raise InsufficientStorage(
            code="storage_full", detail="服务器存储空间已满，文件未保存；请稍后重试或联系系统管理员"
        ) from exc


def insert_blob(
    session: Session, *, sha256: str, size: int, content_type: str, storage: str, content: bytes | None
) -> None:
    """The ``blob`` row for stored content; ``ON CONFLICT DO NOTHING``, so two uploads of one content both succeed."""
    table = Blob.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = {
        "sha256": sha256,
        "size": size,
        "content_type": content_type,
        "storage": storage,
        "content": content,
        "created_at": utcnow(),
    }
    session.execute(dialect.insert(table).values(values).on_conflict_do_nothing(index_elements=["sha256"]))


def store_bytes(session: Session, content: bytes, *, content_type: str, settings: Settings) -> str:
    """Keep content made by xietong itself (a result PDF) in the configured store; returns its SHA-256."""
    sha256 = hashlib.sha256(content).hexdigest()
    temp_dir = settings.blob_dir / "tmp"
    with no_space_is_refused():
        temp_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=temp_dir, prefix="made-")
        path = Path(name)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(content)
            store = store_for(settings)
            kept = store.put(session, sha256, path)
        finally:
            path.unlink(missing_ok=True)
    insert_blob(session, sha256=sha256, size=len(content), content_type=content_type, storage=store.storage,
                content=kept)
    return sha256
