"""The tamper-evident chains: administrative actions (``audit``) and all case events (``event``).

Each chain is a sequence of SM3 links kept with its head row (``audit_chain``):

- ``audit``: every ``audit_record`` carries ``seq``, ``prev_hash`` and ``hash`` = SM3(prev ‖ canonical JSON of
  the record including its ``seq``), written at insert under a lock on the head row (administrative actions
  are rare, so serialising them costs nothing).
- ``event``: every event already carries its per-case SM3 ``hash``; the global chain links them in change-log
  order, ``chain_hash`` = SM3(prev ‖ position ‖ hash), computed by the sequencer after commit
  (``cases/changelog.py``) so the hot path never waits for it.

Signed checkpoints (HMAC-SHA256 under a key derived from the instance secret) pin a chain's head at a
moment: rewriting the chain from before a checkpoint needs the secret, which the database does not hold
when ``XIETONG_SECRET_KEY`` is configured. ``verify_*`` walk a chain and report the FIRST record where it
breaks: a changed record (its hash no longer matches), a deleted one (a gap in ``seq``/position or a broken
link), an inserted or reordered one (a broken link), a missing tail (the head is ahead of the last record)
and a checkpoint that does not match or is not signed with the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xietong.cases.events import Actor, event_hash
from xietong.cases.models import Event
from xietong.errors import InvalidInput
from xietong.security.models import AuditChain, AuditCheckpoint, AuditRecord

GENESIS = "0" * 64
AUDIT, EVENTS = "audit", "event"
CHAINS = (AUDIT, EVENTS)
HEAD = AuditChain.__table__
RECORD = AuditRecord.__table__
EVENT = Event.__table__
CHECKPOINT = AuditCheckpoint.__table__
WALK_BATCH = 2_000
#: The worker signs a checkpoint when a chain moved and its last checkpoint is older than this.
CHECKPOINT_EVERY = timedelta(hours=1)
MIN_RETENTION_DAYS = 183  # 6 months: the least the rules allow


def sm3(text: str) -> str:
    return hashlib.new("sm3", text.encode()).hexdigest()


def canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def record_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """SM3 over the previous hash and the canonical record (its time in UTC, as the database gives it back)."""
    at = row["at"]
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    body = {
        "seq": row["seq"],
        "at": at.astimezone(UTC).isoformat(),
        "actor": [row["actor_kind"], row["actor_id"]],
        "action": row["action"],
        "target": [row["target_kind"], row["target_id"]],
        "detail": row["detail"],
        "client_ip": row["client_ip"],
    }
    return sm3(prev_hash + canonical(body))


def chain_link(prev_hash: str, position: int, event_hash_: str) -> str:
    """One link of the global event chain."""
    return sm3(f"{prev_hash}|{position}|{event_hash_}")


# --- heads ---------------------------------------------------------------------------------------------------


def lock_head(session: Session, name: str) -> tuple[int, str]:
    """(seq, hash) of a chain's head, locked for this transaction (SQLite's writers are serial already)."""
    dialect = session.get_bind().dialect.name
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        upsert(HEAD)
        .values(name=name, seq=0, hash=GENESIS, base_seq=0, base_hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    row = session.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.name == name).with_for_update()).one()
    return int(row.seq), str(row.hash)


def set_head(session: Session, name: str, seq: int, hash_: str) -> None:
    session.execute(update(HEAD).where(HEAD.c.name == name).values(seq=seq, hash=hash_))


def append_record(session: Session, values: dict[str, Any]) -> None:
    """Insert one audit record as the next link of the ``audit`` chain."""
    seq, prev = lock_head(session, AUDIT)
    row = {**values, "seq": seq + 1, "prev_hash": prev}
    row["hash"] = record_hash(prev, row)
    session.execute(insert(RECORD).values(**row))
    set_head(session, AUDIT, row["seq"], row["hash"])


# --- checkpoints ---------------------------------------------------------------------------------------------


def _mac(secret: str, chain: str, seq: int, hash_: str, at: datetime) -> str:
    key = hmac.new(secret.encode(), b"xietong audit checkpoint", hashlib.sha256).digest()
    message = f"{chain}|{seq}|{hash_}|{at.astimezone(UTC).isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign_checkpoint(session: Session, *, secret: str, chain: str, now: datetime) -> AuditCheckpoint:
    """Sign the chain's current head (a checkpoint of an empty chain is allowed: it pins "nothing yet")."""
    seq, hash_ = lock_head(session, chain)
    checkpoint = AuditCheckpoint(chain=chain, seq=seq, hash=hash_, at=now, mac=_mac(secret, chain, seq, hash_, now))
    session.add(checkpoint)
    session.flush()
    return checkpoint


def checkpoint_due(session: Session, *, secret: str, now: datetime) -> int:
    """The worker's duty: sign each chain that moved since its last checkpoint, at most once an hour."""
    made = 0
    for chain in CHAINS:
        head = session.execute(select(HEAD.c.seq).where(HEAD.c.name == chain)).scalar()
        if not head:
            continue
        last = session.execute(
            select(CHECKPOINT.c.seq, CHECKPOINT.c.at)
            .where(CHECKPOINT.c.chain == chain)
            .order_by(CHECKPOINT.c.id.desc())
            .limit(1)
        ).first()
        if last is None or (last.seq != head and now - last.at >= CHECKPOINT_EVERY):
            sign_checkpoint(session, secret=secret, chain=chain, now=now)
            made += 1
    return made


# --- verification --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """Where a chain first breaks: the record's sequence number (or event position) and why."""

    seq: int
    record_id: int | None
    code: str  # modified | missing | link_broken | unchained | tail_missing | checkpoint_mismatch | checkpoint_forged
    detail: str


@dataclass
class Verification:
    chain: str
    checked: int = 0
    head_seq: int = 0
    checkpoints: int = 0
    unchained: int = 0  # events sequenced but not yet chained (the sequencer catches up)
    first_break: Break | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_break is None


class _Checkpoints:
    """The chain's checkpoints by seq; a forged one is a break at its seq."""

    def __init__(self, session: Session, chain: str, secret: str) -> None:
        rows = session.execute(
            select(CHECKPOINT.c.id, CHECKPOINT.c.seq, CHECKPOINT.c.hash, CHECKPOINT.c.at, CHECKPOINT.c.mac)
            .where(CHECKPOINT.c.chain == chain)
            .order_by(CHECKPOINT.c.seq, CHECKPOINT.c.id)
        ).all()
        self.chain, self.secret, self.rows, self.count = chain, secret, list(rows), len(rows)

    def check_upto(self, seq: int, hash_at: dict[int, str]) -> Break | None:
        """Check every checkpoint at or below ``seq`` against the hashes seen (``hash_at``), consuming them."""
        while self.rows and self.rows[0].seq <= seq:
            cp = self.rows.pop(0)
            if not hmac.compare_digest(cp.mac, _mac(self.secret, self.chain, cp.seq, cp.hash, cp.at)):
                return Break(cp.seq, None, "checkpoint_forged",
                    f"第 {cp.id} 号检查点的签名不正确（检查点被篡改或伪造）"
                )
            if cp.seq and hash_at.get(cp.seq) != cp.hash:
                return Break(cp.seq, None, "checkpoint_mismatch", f"第 {cp.seq} 条记录与已签名检查点不一致（链被重写）")
        return None


def _base(session: Session, chain: str) -> tuple[int, str, int, str]:
    row = session.execute(
        select(HEAD.c.base_seq, HEAD.c.base_hash, HEAD.c.seq, HEAD.c.hash).where(HEAD.c.name == chain)
    ).first()
    return (0, GENESIS, 0, GENESIS) if row is None else (int(row[0]), row[1], int(row[2]), row[3])


def verify_audit(session: Session, *, secret: str) -> Verification:
    """Walk the audit trail in ``seq`` order and report the first break."""
    result = Verification(AUDIT)
    base_seq, prev, head_seq, head_hash = _base(session, AUDIT)
    result.head_seq = head_seq
    unchained = session.execute(select(func.min(RECORD.c.id)).where(RECORD.c.seq.is_(None))).scalar()
    checkpoints = _Checkpoints(session, AUDIT, secret)
    result.checkpoints = checkpoints.count
    expected, seen = base_seq + 1, {base_seq: prev}
    for row in _walk(session, RECORD, RECORD.c.seq, after=base_seq):
        values = row._asdict()
        found: Break | None = None
        if row.seq != expected:
            found = Break(expected, None, "missing", f"缺少第 {expected} 至 {row.seq - 1} 条审计记录（记录被删除）")
        elif row.prev_hash != prev:
            found = Break(row.seq, row.id, "link_broken",
                f"第 {row.seq} 条审计记录与前一条的链接断开（记录被插入或调换）"
            )
        elif record_hash(prev, values) != row.hash:
            found = Break(row.seq, row.id, "modified", f"第 {row.seq} 条审计记录的内容与其哈希不符（记录被修改）")
        found = found or checkpoints.check_upto(row.seq - 1, seen)
        if found:
            result.first_break = found
            return result
        seen[row.seq] = row.hash
        prev, expected = row.hash, row.seq + 1
        result.checked += 1
    last = expected - 1
    if last != head_seq or prev != head_hash:
        result.first_break = Break(
            last + 1, None, "tail_missing", f"链头记录到第 {head_seq} 条，但审计记录只到第 {last} 条（末尾记录被删除）"
        )
        return result
    result.first_break = checkpoints.check_upto(last, seen) or _beyond(checkpoints, last)
    if result.first_break is None and unchained is not None:
        result.first_break = Break(last + 1, int(unchained), "unchained",
            f"第 {unchained} 号审计记录不在链上（记录被插入）"
        )
    return result


def verify_events(session: Session, *, secret: str) -> Verification:
    """Walk all sequenced events in change-log order: each event's own hash, its case's link, the global link."""
    result = Verification(EVENTS)
    base_seq, prev, head_seq, _head_hash = _base(session, EVENTS)
    result.head_seq = head_seq
    checkpoints = _Checkpoints(session, EVENTS, secret)
    result.checkpoints = checkpoints.count
    cases: dict[int, tuple[int, str]] = {}
    expected, seen = base_seq + 1, {base_seq: prev}
    for row in _walk(session, EVENT, EVENT.c.position, after=base_seq):
        if row.chain_hash is None:  # sequenced, not yet chained: everything after it is the sequencer's backlog
            result.unchained = int(
                session.execute(select(func.count()).where(EVENT.c.position >= row.position)).scalar() or 0
            )
            break
        found: Break | None = None
        own = event_hash(
            row.prev_hash, case_id=row.case_id, seq=row.seq, type=row.type,
            actor=Actor(row.actor_kind, row.actor_id, row.acting_for_id), at=row.at, delta=row.delta,
        )
        case_seq, case_hash = cases.get(row.case_id, (0, GENESIS))
        if row.position != expected:
            found = Break(expected, None, "missing",
                f"缺少变更日志第 {expected} 至 {row.position - 1} 条事件（事件被删除）"
            )
        elif own != row.hash:
            found = Break(row.position, row.id, "modified",
                f"变更日志第 {row.position} 条事件的内容与其哈希不符（事件被修改）"
            )
        elif row.chain_hash != chain_link(prev, row.position, row.hash):
            found = Break(row.position, row.id, "link_broken",
                f"变更日志第 {row.position} 条事件与前一条的链接断开（事件被插入或调换）"
            )
        elif row.case_id in cases and (row.seq != case_seq + 1 or row.prev_hash != case_hash):
            found = Break(
                row.position, row.id, "link_broken",
                f"变更日志第 {row.position} 条事件在办件 {row.case_id} 的事件链上接不上前一条（事件被删除或调换）",
            )
        found = found or checkpoints.check_upto(row.position - 1, seen)
        if found:
            result.first_break = found
            return result
        cases[row.case_id] = (row.seq, row.hash)
        seen[row.position] = row.chain_hash
        prev, expected = row.chain_hash, row.position + 1
        result.checked += 1
    last = expected - 1
    if last < head_seq:
        result.first_break = Break(
            last + 1, None, "tail_missing", f"链头到变更日志第 {head_seq} 条，但事件只到第 {last} 条（末尾事件被删除）"
        )
        return result
    result.first_break = checkpoints.check_upto(last, seen) or _beyond(checkpoints, last)
    return result


def _beyond(checkpoints: _Checkpoints, last: int) -> Break | None:
    if checkpoints.rows:
        cp = checkpoints.rows[0]
        return Break(last + 1, None, "tail_missing",
            f"已签名检查点记到第 {cp.seq} 条，但链只到第 {last} 条（末尾记录被删除）"
        )
    return None


def _walk(session: Session, table: Any, key: Any, *, after: int) -> Iterator[Any]:
    """Rows of ``table`` with ``key`` above ``after``, in ``key`` order, read in batches (keyset)."""
    while True:
        rows = session.execute(select(table).where(key > after).order_by(key).limit(WALK_BATCH)).all()
        yield from rows
        if len(rows) < WALK_BATCH:
            return
        after = getattr(rows[-1], key.name)


# --- retention -----------------------------------------------------------------------------------------------


def prune_audit(session: Session, *, before: datetime, retention_days: int, now: datetime) -> int:
    """Delete audit records older than ``before`` (never younger than the retention period) and re-anchor.

    The chain's base moves to the last pruned record, so the first kept record still links to a known hash.
    """
    if retention_days < MIN_RETENTION_DAYS:
        raise InvalidInput(code="retention_too_short", detail=f"审计记录至少保留 {MIN_RETENTION_DAYS} 天")
    before = min(before, now - timedelta(days=retention_days))
    lock_head(session, AUDIT)
    last = session.execute(
        select(RECORD.c.seq, RECORD.c.hash).where(RECORD.c.at < before, RECORD.c.seq.is_not(None))
        .order_by(RECORD.c.seq.desc()).limit(1)
    ).first()
    if last is None:
        return 0
    removed = session.execute(delete(RECORD).where(RECORD.c.seq <= last.seq)).rowcount  # type: ignore[attr-defined]
    session.execute(update(HEAD).where(HEAD.c.name == AUDIT).values(base_seq=last.seq, base_hash=last.hash))
    session.execute(delete(CHECKPOINT).where(CHECKPOINT.c.chain == AUDIT, CHECKPOINT.c.seq <= last.seq))
    return int(removed)
