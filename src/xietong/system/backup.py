"""Backup and restore (备份与恢复): one tar archive holding the database, every stored file and a manifest.

An archive is written as ``<name>.part`` and renamed into place once complete, so a half-written backup never
carries the final name. Its members, in this order:

- ``manifest.json`` — format, dialect, schema revision, and for every table its row count and a SHA-256 over
  its rows in primary-key order; for every stored file (``blob`` row) its digest and size.
- ``database.sqlite3`` (SQLite, made with the online backup API, so a running system keeps writing) or
  ``database.pgdump`` (PostgreSQL, ``pg_dump --format=custom``).
- ``blobs/<sha256>`` — the stored files (attachments); documents live in the database itself.

Consistency: the manifest describes exactly the snapshot that is archived. On SQLite the counts are taken from
the copy, not from the live file; on PostgreSQL they are read in a REPEATABLE READ transaction whose snapshot
``pg_dump --snapshot`` then dumps. A file is written before its ``blob`` row commits, so every file the
snapshot names exists.

Restoring refuses a database that already holds data unless ``force`` is given, then replaces it wholesale
(SQLite: the online backup API in reverse; PostgreSQL: ``pg_restore --clean --if-exists --single-transaction``),
writes the files (each re-hashed on the way), and compares the restored tables' counts and hashes with the
manifest. The caller then verifies the event and audit chains (``security.audit_chain``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, func, select, text
from sqlalchemy.engine import make_url

from xietong.cases.attachments import blob_path
from xietong.config import Settings
from xietong.errors import Conflict, InvalidInput, Unavailable

FORMAT = "xietong-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
BLOB_PREFIX = "blobs/"
CHUNK = 1024 * 1024
SQLITE_PAGES_PER_STEP = 1024
# Rows written by the migrations themselves (the revision, the chains' genesis heads); a database holding only
# these is still "empty".
SCHEMA_TABLES = frozenset({"alembic_version", "audit_chain"})

# stage (a Chinese label), done, total
ProgressFn = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class TableDigest:
    rows: int
    sha256: str


@dataclass
class Manifest:
    dialect: str
    revision: str | None
    created_at: str
    tables: dict[str, TableDigest]
    blobs: dict[str, int]  # sha256 -> size
    format: str = FORMAT

    def to_json(self) -> bytes:
        body = {
            "format": self.format,
            "dialect": self.dialect,
            "revision": self.revision,
            "created_at": self.created_at,
            "tables": {name: {"rows": d.rows, "sha256": d.sha256} for name, d in sorted(self.tables.items())},
            "blobs": dict(sorted(self.blobs.items())),
        }
        return json.dumps(body, ensure_ascii=False, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            body = json.loads(raw)
            if body.get("format") != FORMAT:
                raise InvalidInput(code="backup_format", detail=f"不认识的备份格式：{body.get('format')}")
            return cls(
                dialect=str(body["dialect"]),
                revision=body.get("revision"),
                created_at=str(body["created_at"]),
                tables={k: TableDigest(int(v["rows"]), str(v["sha256"])) for k, v in body["tables"].items()},
                blobs={str(k): int(v) for k, v in body["blobs"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(code="backup_manifest", detail="备份清单损坏，无法读取") from exc


@dataclass
class BackupReport:
    path: Path
    manifest: Manifest
    size: int


@dataclass
class RestoreReport:
    manifest: Manifest
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


# --- digests -------------------------------------------------------------------------------------------------


def _tables(conn: Connection) -> list[Table]:
    metadata = MetaData()
    metadata.reflect(conn)
    return sorted(metadata.tables.values(), key=lambda t: t.name)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    return str(value)


def _row_text(row: Any) -> str:
    return json.dumps(list(row), default=_plain, sort_keys=True, ensure_ascii=False)


def table_digests(conn: Connection, progress: ProgressFn = _quiet) -> dict[str, TableDigest]:
    """Row count and SHA-256 of every table, rows in primary-key order (all columns when there is none)."""
    tables = _tables(conn)
    digests: dict[str, TableDigest] = {}
    for index, table in enumerate(tables):
        order = list(table.primary_key.columns) or list(table.columns)
        digest = hashlib.sha256()
        rows = 0
        for row in conn.execute(select(table).order_by(*order)).yield_per(2000):
            digest.update(_row_text(row).encode())
            digest.update(b"\n")
            rows += 1
        digests[table.name] = TableDigest(rows, digest.hexdigest())
        progress("校验数据表", index + 1, len(tables))
    return digests


def _blob_sizes(conn: Connection, tables: dict[str, TableDigest]) -> dict[str, int]:
    if "blob" not in tables:
        return {}
    # blobs kept in the database (storage 'db') travel with the dump; only files need copying
    rows = conn.execute(text("SELECT sha256, size FROM blob WHERE storage = 'file' ORDER BY sha256"))
    return {sha: int(size) for sha, size in rows}


def _revision(conn: Connection, tables: dict[str, TableDigest]) -> str | None:
    if "alembic_version" not in tables:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def holds_data(engine: Engine) -> bool:
    """Whether any table besides the schema's own bookkeeping has a row."""
    with engine.connect() as conn:
        for table in _tables(conn):
            if table.name in SCHEMA_TABLES:
                continue
            if conn.execute(select(func.count()).select_from(select(table).limit(1).subquery())).scalar():
                return True
    return False


# --- backup --------------------------------------------------------------------------------------------------


def backup(engine: Engine, settings: Settings, target: Path, *, progress: ProgressFn = _quiet) -> BackupReport:
    """Write a complete archive of the database and its files to ``target``."""
    target = Path(target)
    if target.exists():
        raise Conflict(code="backup_exists", detail=f"备份文件已存在，不会覆盖：{target.name}")
    if not target.parent.is_dir():
        raise InvalidInput(code="backup_dir", detail=f"备份目录不存在：{target.parent}")
    part = target.with_name(target.name + ".part")
    with tempfile.TemporaryDirectory(prefix="xietong-backup-") as scratch:
        if engine.dialect.name == "sqlite":
            dump, member, manifest = _snapshot_sqlite(engine, Path(scratch), progress)
        elif engine.dialect.name == "postgresql":
            dump, member, manifest = _snapshot_postgres(engine, Path(scratch), progress)
        else:
            raise InvalidInput(code="backup_dialect", detail=f"不支持备份此数据库：{engine.dialect.name}")
        try:
            with tarfile.open(part, "w") as archive:
                _add_bytes(archive, MANIFEST, manifest.to_json())
                archive.add(dump, arcname=member)
                _add_blobs(archive, settings, manifest.blobs, progress)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
    return BackupReport(path=target, manifest=manifest, size=target.stat().st_size)


def _manifest(conn: Connection, dialect: str, progress: ProgressFn) -> Manifest:
    tables = table_digests(conn, progress)
    return Manifest(
        dialect=dialect,
        revision=_revision(conn, tables),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tables=tables,
        blobs=_blob_sizes(conn, tables),
    )


def _snapshot_sqlite(engine: Engine, scratch: Path, progress: ProgressFn) -> tuple[Path, str, Manifest]:
    copy = scratch / SQLITE_MEMBER
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        destination = sqlite3.connect(copy)
        try:
            source.backup(  # type: ignore[union-attr]
                destination,
                pages=SQLITE_PAGES_PER_STEP,
                progress=lambda _status, remaining, total: progress("复制数据库", total - remaining, total),
            )
        finally:
            destination.close()
    finally:
        raw.close()
    snapshot = create_engine(f"sqlite:///{copy}")
    try:
        with snapshot.connect() as conn:
            manifest = _manifest(conn, "sqlite", progress)
    finally:
        snapshot.dispose()
    return copy, SQLITE_MEMBER, manifest


def _snapshot_postgres(engine: Engine, scratch: Path, progress: ProgressFn) -> tuple[Path, str, Manifest]:
    dump = scratch / PG_MEMBER
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        manifest = _manifest(conn, "postgresql", progress)
        progress("导出数据库", 0, 1)
        _run_pg(
            engine,
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot_id}",
             f"--file={dump}"],
        )
        progress("导出数据库", 1, 1)
    return dump, PG_MEMBER, manifest


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def _add_blobs(archive: tarfile.TarFile, settings: Settings, blobs: dict[str, int], progress: ProgressFn) -> None:
    missing = [sha for sha in blobs if not blob_path(settings, sha).is_file()]
    if missing:
        raise Unavailable(
            code="backup_blob_missing",
            detail=f"有 {len(missing)} 个附件文件在存储目录中找不到（例如 {missing[0][:12]}…），备份未完成",
        )
    for index, sha in enumerate(blobs):
        archive.add(blob_path(settings, sha), arcname=BLOB_PREFIX + sha)
        progress("复制附件", index + 1, len(blobs))


# --- restore -------------------------------------------------------------------------------------------------


def read_manifest(source: Path) -> Manifest:
    """The manifest of an archive, without restoring anything."""
    with _open_archive(source) as archive:
        return Manifest.from_json(_member_bytes(archive, MANIFEST))


def restore(
    engine: Engine, settings: Settings, source: Path, *, force: bool = False, progress: ProgressFn = _quiet
) -> RestoreReport:
    """Replace the database and the stored files with the archive's, then compare them with its manifest."""
    with _open_archive(source) as archive:
        manifest = Manifest.from_json(_member_bytes(archive, MANIFEST))
        if manifest.dialect != engine.dialect.name:
            raise InvalidInput(
                code="backup_dialect",
                detail=f"备份来自 {manifest.dialect} 数据库，不能恢复到 {engine.dialect.name} 数据库",
            )
        if not force and holds_data(engine):
            raise Conflict(code="restore_not_empty", detail="目标数据库中已有数据；确认要覆盖时请加 --force")
        with tempfile.TemporaryDirectory(prefix="xietong-restore-") as scratch:
            member = SQLITE_MEMBER if manifest.dialect == "sqlite" else PG_MEMBER
            dump = Path(scratch) / member
            with _member(archive, member) as stream, dump.open("wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
            if manifest.dialect == "sqlite":
                _restore_sqlite(engine, dump, progress)
            else:
                progress("导入数据库", 0, 1)
                _run_pg(engine, ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                                 "--single-transaction", "--exit-on-error", f"--dbname={_libpq_dbname(engine)}",
                                 str(dump)])
                progress("导入数据库", 1, 1)
        _restore_blobs(archive, settings, manifest.blobs, progress)
    engine.dispose()  # pooled connections may have cached the old schema
    with engine.connect() as conn:
        restored = table_digests(conn, progress)
    return RestoreReport(manifest=manifest, mismatches=_compare(manifest.tables, restored))


def _restore_sqlite(engine: Engine, dump: Path, progress: ProgressFn) -> None:
    engine.dispose()
    source = sqlite3.connect(dump)
    raw = engine.raw_connection()
    try:
        source.backup(
            raw.driver_connection,  # type: ignore[arg-type]
            pages=SQLITE_PAGES_PER_STEP,
            progress=lambda _status, remaining, total: progress("导入数据库", total - remaining, total),
        )
    finally:
        raw.close()
        source.close()
    engine.dispose()


def _restore_blobs(archive: tarfile.TarFile, settings: Settings, blobs: dict[str, int], progress: ProgressFn) -> None:
    for index, (sha, size) in enumerate(blobs.items()):
        final = blob_path(settings, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(final.name + ".restoring")
        digest = hashlib.sha256()
        written = 0
        with _member(archive, BLOB_PREFIX + sha) as stream, temp.open("wb") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                written += len(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha or written != size:
            temp.unlink(missing_ok=True)
            raise InvalidInput(code="backup_blob_corrupt", detail=f"备份中的附件文件已损坏：{sha[:12]}…")
        os.replace(temp, final)
        progress("恢复附件", index + 1, len(blobs))


def _compare(expected: dict[str, TableDigest], actual: dict[str, TableDigest]) -> list[str]:
    problems = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None:
            problems.append(f"多出数据表 {name}")
        elif got is None:
            problems.append(f"缺少数据表 {name}")
        elif want.rows != got.rows:
            problems.append(f"数据表 {name} 行数不符：备份 {want.rows}，恢复后 {got.rows}")
        elif want.sha256 != got.sha256:
            problems.append(f"数据表 {name} 内容校验值不符")
    return problems


@contextmanager
def _open_archive(source: Path) -> Iterator[tarfile.TarFile]:
    source = Path(source)
    if not source.is_file():
        raise InvalidInput(code="backup_missing", detail=f"找不到备份文件：{source}")
    try:
        archive = tarfile.open(source, "r")  # noqa: SIM115  (closed below, after the body's own errors)
    except tarfile.TarError as exc:
        raise InvalidInput(code="backup_unreadable", detail=f"不是有效的备份文件：{source.name}") from exc
    try:
        yield archive
    except tarfile.TarError as exc:
        raise InvalidInput(code="backup_unreadable", detail=f"备份文件已损坏：{source.name}") from exc
    finally:
        archive.close()


@contextmanager
def _member(archive: tarfile.TarFile, name: str) -> Iterator[IO[bytes]]:
    try:
        info = archive.getmember(name)
    except KeyError as exc:
        raise InvalidInput(code="backup_incomplete", detail=f"备份文件不完整，缺少 {name}") from exc
    stream = archive.extractfile(info) if info.isfile() else None
    if stream is None:
        raise InvalidInput(code="backup_incomplete", detail=f"备份文件不完整，{name} 不是文件")
    with stream:
        yield stream


def _member_bytes(archive: tarfile.TarFile, name: str) -> bytes:
    with _member(archive, name) as stream:
        return stream.read()


# --- PostgreSQL client tools ---------------------------------------------------------------------------------


def _libpq_env(engine: Engine) -> dict[str, str]:
    url = engine.url
    env = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[key] = str(value)
    return env


def _libpq_dbname(engine: Engine) -> str:
    return str(make_url(engine.url).database)


def _run_pg(engine: Engine, argv: list[str]) -> None:
    """Run pg_dump or pg_restore against the engine's database; the password travels in the environment."""
    if shutil.which(argv[0]) is None:
        raise Unavailable(
            code="pg_tool_missing", detail=f"找不到 {argv[0]}：请安装与服务器版本一致的 PostgreSQL 客户端工具"
        )
    result = subprocess.run(argv, env=_libpq_env(engine), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        reason = lines[-1] if lines else f"退出码 {result.returncode}"
        raise Unavailable(code="pg_tool_failed", detail=f"{argv[0]} 执行失败：{reason}")
