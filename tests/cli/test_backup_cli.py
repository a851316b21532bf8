"""``xietong backup`` / ``xietong restore``: a loaded system (a small demo plus uploaded files) round-trips.

The source is the test's own fresh database (``cli_db``); the restore goes into a second database of its own
(a SQLite file, or a scratch PostgreSQL database made for the test and dropped afterwards) with its own data
directory. Equality is checked independently of the manifest: row counts and row hashes of every table, every
stored file byte for byte, and the event and audit chains verifying.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

import xietong.cli.backup  # noqa: F401  (registers the commands on the root app)
from tests.cli.conftest import CliDb, _pg_admin, _pg_url
from tests.conftest import PG_ENV, _worker
from xietong.cases import attachments
from xietong.cases.changelog import sequence_events
from xietong.cases.models import Blob
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.base import utcnow
from xietong.db.engine import create_db_engine
from xietong.db.session import read_only, unit_of_work
from xietong.demo.load import load_demo
from xietong.demo.samples import pdf_bytes
from xietong.directory.models import Person
from xietong.security import audit_chain
from xietong.security.principal import Principal
from xietong.system.backup import table_digests
from xietong.system.secret import instance_secret, stored_secret

REGION = "331121"  # 青田县
DAY = date(2026, 11, 25)
_numbers = itertools.count(1)


@dataclass
class Target:
    env: dict[str, str]
    engine: Engine
    data_dir: Path


@pytest.fixture
def loaded(cli_db: CliDb) -> CliDb:
    """The source system: a small demo (its sample blobs live in the database) and two uploaded files on disk."""
    settings = Settings(database_url=cli_db.env["XIETONG_DATABASE_URL"], data_dir=cli_db.data_dir, demo=True)
    load_demo(cli_db.engine, settings, cases=40, regions=[REGION], today=DAY, fork=False)
    with unit_of_work(cli_db.engine) as session:
        person_id = session.scalar(select(Person.id).order_by(Person.id).limit(1))
        uploader = Principal(kind="person", id=person_id)
        files = (("营业执照.pdf", pdf_bytes("backup test")), ("现场说明.pdf", pdf_bytes("a second, different file")))
        for name, data in files:
            attachments.store_upload(
                session, principal=uploader, filename=name, stream=io.BytesIO(data), declared_type=None,
                material_code="M1", settings=settings,
            )
    with unit_of_work(cli_db.engine) as session:  # what the worker does: chain the events, sign a checkpoint
        while sequence_events(session):
            pass
        secret = instance_secret(session, None)
        for chain in audit_chain.CHAINS:
            audit_chain.sign_checkpoint(session, secret=secret, chain=chain, now=utcnow())
    return cli_db


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    """An empty second system to restore into: a new SQLite file or a scratch PostgreSQL database."""
    data_dir = tmp_path / "restored"
    data_dir.mkdir()
    base = os.environ.get(PG_ENV)
    name = f"xietong_restore_{_worker()}_{next(_numbers)}"
    if base:
        with _pg_admin(base) as admin:
            admin.execute(text(f'CREATE DATABASE "{name}"'))
        url = _pg_url(base, name)
    else:
        url = f"sqlite:///{data_dir / 'xietong.db'}"
    engine = create_db_engine(Settings(database_url=url, data_dir=data_dir))
    yield Target(env={"XIETONG_DATABASE_URL": url, "XIETONG_DATA_DIR": str(data_dir), "COLUMNS": "200"},
                 engine=engine, data_dir=data_dir)
    engine.dispose()
    if base:
        with _pg_admin(base) as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _digests(engine: Engine) -> dict[str, tuple[int, str]]:
    with engine.connect() as conn:
        return {name: (d.rows, d.sha256) for name, d in table_digests(conn).items()}


def _files(data_dir: Path) -> dict[str, str]:
    root = data_dir / "blobs"
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*") if path.is_file() and "tmp" not in path.relative_to(root).parts
    }


def _chains_ok(engine: Engine) -> list[int]:
    with read_only(engine) as session:
        secret = stored_secret(session) or ""
        results = [audit_chain.verify_audit(session, secret=secret), audit_chain.verify_events(session, secret=secret)]
    assert all(result.ok for result in results), [result.first_break for result in results]
    return [result.checked for result in results]


def test_round_trip_of_a_loaded_system(loaded: CliDb, target: Target, tmp_path: Path) -> None:
    archive = tmp_path / "xietong.tar"
    made = loaded.run("backup", str(archive))
    assert made.exit_code == 0, made.output
    assert "已备份" in made.output
    assert not archive.with_name("xietong.tar.part").exists()

    restored = loaded.run("restore", str(archive), env=target.env)
    assert restored.exit_code == 0, restored.output
    assert "已恢复" in restored.output and "不一致" not in restored.output

    before, after = _digests(loaded.engine), _digests(target.engine)
    assert before == after
    assert before["case"][0] >= 40 and before["event"][0] > 0 and before["attachment"][0] > 0
    files = _files(loaded.data_dir)
    assert len(files) == 2
    assert _files(target.data_dir) == files
    assert all(name == digest for name, digest in files.items())  # a file is named by its own SHA-256
    checked = _chains_ok(target.engine)
    assert checked == _chains_ok(loaded.engine) and checked[1] > 0
    with read_only(target.engine) as session:
        assert session.scalar(select(Blob.storage).where(Blob.sha256 == next(iter(files)))) == "file"


def test_restore_refuses_a_database_that_holds_data_unless_forced(loaded: CliDb, tmp_path: Path) -> None:
    archive = tmp_path / "xietong.tar"
    assert loaded.run("backup", str(archive)).exit_code == 0
    before = _digests(loaded.engine)

    refused = loaded.run("restore", str(archive))
    assert refused.exit_code == 1
    assert "已有数据" in refused.output and "--force" in refused.output

    forced = loaded.run("restore", str(archive), "--force")
    assert forced.exit_code == 0, forced.output
    assert _digests(loaded.engine) == before


def test_restore_into_a_migrated_empty_database(loaded: CliDb, target: Target, tmp_path: Path) -> None:
    """A database that only has the schema (``xietong db upgrade`` run, nothing else) counts as empty."""
    migrate.upgrade(target.engine)
    archive = tmp_path / "xietong.tar"
    assert loaded.run("backup", str(archive)).exit_code == 0
    restored = loaded.run("restore", str(archive), env=target.env)
    assert restored.exit_code == 0, restored.output
    assert _digests(target.engine) == _digests(loaded.engine)


def test_backup_never_overwrites_and_bad_archives_get_chinese_errors(loaded: CliDb, target: Target,
                                                                     tmp_path: Path) -> None:
    archive = tmp_path / "xietong.tar"
    assert loaded.run("backup", str(archive)).exit_code == 0
    again = loaded.run("backup", str(archive))
    assert again.exit_code == 1 and "已存在" in again.output

    missing = loaded.run("restore", str(tmp_path / "nothing.tar"), env=target.env)
    assert missing.exit_code == 1 and "找不到备份文件" in missing.output

    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not an archive at all" * 100)
    assert "不是有效的备份文件" in loaded.run("restore", str(junk), env=target.env).output

    # a stored file altered inside the archive is caught by its digest, not restored
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("blobs/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            out.addfile(member, io.BytesIO(data))
    broken = loaded.run("restore", str(tampered), env=target.env)
    assert broken.exit_code == 1 and "已损坏" in broken.output
    assert _files(target.data_dir) == {}


def test_a_missing_stored_file_fails_the_backup(loaded: CliDb, tmp_path: Path) -> None:
    victim = next(path for path in (loaded.data_dir / "blobs").rglob("*") if path.is_file())
    victim.unlink()
    archive = tmp_path / "xietong.tar"
    failed = loaded.run("backup", str(archive))
    assert failed.exit_code == 1 and "找不到" in failed.output
    assert not archive.exists() and not archive.with_name("xietong.tar.part").exists()
