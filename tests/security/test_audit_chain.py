"""The tamper-evident chains: an untouched chain verifies; each kind of tampering is found at its first record."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from tests.factories import linear_process, make_city, post_rule, publish_matter
from xietong.cases import service
from xietong.cases.changelog import sequence_events
from xietong.cases.models import Event
from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.errors import InvalidInput
from xietong.security.audit import record
from xietong.security.audit_chain import (
    AUDIT,
    EVENTS,
    HEAD,
    RECORD,
    chain_link,
    checkpoint_due,
    lock_head,
    prune_audit,
    record_hash,
    set_head,
    sign_checkpoint,
    verify_audit,
    verify_events,
)
from xietong.security.models import AuditCheckpoint
from xietong.security.principal import Principal

PROCESS = linear_process(("review", post_rule("finance")))


@pytest.fixture
def secret(settings: Settings) -> str:
    """The instance secret: checkpoints that other tests' apps committed are signed with it."""
    assert settings.secret_key
    return settings.secret_key


def _records(session: Session, n: int) -> list[int]:
    """Append ``n`` audit records; their seq numbers."""
    who = Principal(kind="person", id=7)
    for i in range(n):
        record(session, who, "directory.unit_updated", target_kind="unit", target_id=i, detail={"n": i, "名": "科"})
    return list(session.scalars(select(RECORD.c.seq).order_by(RECORD.c.seq.desc()).limit(n)))[::-1]


def _row(session: Session, seq: int):  # type: ignore[no-untyped-def]
    return session.execute(select(RECORD).where(RECORD.c.seq == seq)).one()


def test_an_untouched_audit_chain_verifies_and_links_every_record(session: Session, secret: str) -> None:
    seqs = _records(session, 5)
    result = verify_audit(session, secret=secret)
    assert result.ok, result.first_break
    assert result.head_seq == seqs[-1] and result.checked == seqs[-1]
    rows = [_row(session, s) for s in seqs]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert rows[2].hash == record_hash(rows[1].hash, rows[2]._asdict())


def test_a_modified_record_is_the_first_break(session: Session, secret: str) -> None:
    seqs = _records(session, 5)
    session.execute(update(RECORD).where(RECORD.c.seq == seqs[2]).values(detail={"n": 999}))
    found = verify_audit(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (seqs[2], "modified")


def test_a_deleted_record_is_found_where_it_was(session: Session, secret: str) -> None:
    seqs = _records(session, 5)
    session.execute(delete(RECORD).where(RECORD.c.seq == seqs[1]))
    found = verify_audit(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (seqs[1], "missing")


def test_deleting_the_last_records_is_found_against_the_head(session: Session, secret: str) -> None:
    seqs = _records(session, 4)
    session.execute(delete(RECORD).where(RECORD.c.seq >= seqs[2]))
    found = verify_audit(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (seqs[2], "tail_missing")


def test_an_inserted_record_breaks_the_link_of_the_one_after_it(session: Session, secret: str) -> None:
    seqs = _records(session, 4)
    # A forger makes room after seqs[1] and writes a well-formed record there, hashed like a real one.
    for seq in sorted(seqs[2:], reverse=True):
        session.execute(update(RECORD).where(RECORD.c.seq == seq).values(seq=seq + 1))
    before = _row(session, seqs[1])
    forged = {**before._asdict(), "seq": seqs[2], "action": "directory.unit_deleted", "prev_hash": before.hash}
    forged.pop("id")
    forged["hash"] = record_hash(before.hash, forged)
    session.execute(insert(RECORD).values(**forged))
    found = verify_audit(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (seqs[2] + 1, "link_broken")


def test_a_record_written_outside_the_chain_is_found(session: Session, secret: str) -> None:
    _records(session, 2)
    session.execute(insert(RECORD).values(at=utcnow(), actor_kind="person", actor_id=1, action="x", detail={}))
    found = verify_audit(session, secret=secret).first_break
    assert found is not None and found.code == "unchained"


def test_two_records_swapped_are_found_at_the_first_of_them(session: Session, secret: str) -> None:
    seqs = _records(session, 4)
    a, b = _row(session, seqs[1]), _row(session, seqs[2])
    session.execute(update(RECORD).where(RECORD.c.id == a.id).values(seq=-1))
    session.execute(update(RECORD).where(RECORD.c.id == b.id).values(seq=seqs[1]))
    session.execute(update(RECORD).where(RECORD.c.id == a.id).values(seq=seqs[2]))
    found = verify_audit(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (seqs[1], "link_broken")


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(session: Session, secret: str) -> None:
    seqs = _records(session, 3)
    sign_checkpoint(session, secret=secret, chain=AUDIT, now=utcnow())
    assert verify_audit(session, secret=secret).ok
    # The forger changes record seqs[1] and recomputes every hash after it, and the head: the chain is
    # consistent again, but the checkpoint signed the old head.
    session.execute(update(RECORD).where(RECORD.c.seq == seqs[1]).values(action="auth.logout"))
    prev = _row(session, seqs[0]).hash
    for seq in seqs[1:]:
        row = _row(session, seq)
        digest = record_hash(prev, {**row._asdict(), "prev_hash": prev})
        session.execute(update(RECORD).where(RECORD.c.seq == seq).values(prev_hash=prev, hash=digest))
        prev = digest
    set_head(session, AUDIT, seqs[-1], prev)
    found = verify_audit(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (seqs[-1], "checkpoint_mismatch")


def test_a_checkpoint_not_signed_with_the_secret_is_refused(session: Session, secret: str) -> None:
    _records(session, 2)
    checkpoint = sign_checkpoint(session, secret=secret, chain=AUDIT, now=utcnow())
    assert verify_audit(session, secret="another-secret-entirely-another-one").first_break.code == "checkpoint_forged"  # type: ignore[union-attr]
    session.execute(update(AuditCheckpoint.__table__).where(AuditCheckpoint.id == checkpoint.id).values(mac="0" * 64))
    found = verify_audit(session, secret=secret).first_break
    assert found is not None and found.code == "checkpoint_forged"


def test_the_worker_signs_a_moved_chain_at_most_once_an_hour(session: Session, secret: str) -> None:
    _records(session, 1)
    now = utcnow()
    session.execute(delete(AuditCheckpoint.__table__))
    assert checkpoint_due(session, secret=secret, now=now) >= 1
    _records(session, 1)
    assert checkpoint_due(session, secret=secret, now=now + timedelta(minutes=5)) == 0
    assert checkpoint_due(session, secret=secret, now=now + timedelta(hours=1, minutes=1)) == 1
    assert verify_audit(session, secret=secret).ok


def test_pruning_keeps_the_retention_period_and_the_rest_still_verifies(session: Session, secret: str) -> None:
    now = utcnow()
    old = Principal(kind="person", id=3)
    for days in (400, 300):
        record(session, old, "directory.unit_updated", at=now - timedelta(days=days))
    _records(session, 2)
    with pytest.raises(InvalidInput):
        prune_audit(session, before=now, retention_days=30, now=now)
    removed = prune_audit(session, before=now, retention_days=183, now=now)
    assert removed >= 2
    assert session.scalar(select(func.min(RECORD.c.at))) >= now - timedelta(days=183)  # type: ignore[operator]
    assert verify_audit(session, secret=secret).ok


# --- the global event chain --------------------------------------------------------------------------------


def _events(session: Session, n: int) -> list[int]:
    """Submit ``n`` cases and sequence their events; the positions of theirs."""
    city = make_city(session, code=str(random.randint(100000, 989999)))
    local = publish_matter(session, city, PROCESS, handling="staffing")
    clerk = city.principal(session, "office")
    ids = [
        service.submit_case(
            session, principal=clerk, local_matter_id=local.id, applicant_unit_id=city.units["office"].id,
            form={"title": f"事件链{i}"},
        )[0]
        for i in range(n)
    ]
    while sequence_events(session):
        pass
    return list(session.scalars(select(Event.position).where(Event.case_id.in_(ids)).order_by(Event.position)))


def _event(session: Session, position: int):  # type: ignore[no-untyped-def]
    return session.execute(select(Event.__table__).where(Event.position == position)).one()


def test_the_sequencer_chains_every_event_in_change_log_order(session: Session, secret: str) -> None:
    positions = _events(session, 3)
    result = verify_events(session, secret=secret)
    assert result.ok, result.first_break
    assert result.head_seq == positions[-1] and result.unchained == 0
    a, b = _event(session, positions[0]), _event(session, positions[1])
    assert b.chain_hash == chain_link(_event(session, positions[0]).chain_hash, b.position, b.hash) and a.chain_hash


def test_a_modified_event_is_found(session: Session, secret: str) -> None:
    positions = _events(session, 3)
    session.execute(update(Event.__table__).where(Event.position == positions[1]).values(delta={"form": {}}))
    found = verify_events(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (positions[1], "modified")


def test_a_deleted_event_is_found(session: Session, secret: str) -> None:
    positions = _events(session, 3)
    session.execute(delete(Event.__table__).where(Event.position == positions[1]))
    found = verify_events(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (positions[1], "missing")


def test_a_deleted_last_event_is_found_against_the_head(session: Session, secret: str) -> None:
    positions = _events(session, 2)
    session.execute(delete(Event.__table__).where(Event.position == positions[-1]))
    found = verify_events(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (positions[-1], "tail_missing")


def test_two_events_swapped_in_the_log_are_found(session: Session, secret: str) -> None:
    positions = _events(session, 3)
    table = Event.__table__
    a, b = _event(session, positions[0]), _event(session, positions[1])
    session.execute(update(table).where(table.c.id == a.id).values(position=-1))
    session.execute(update(table).where(table.c.id == b.id).values(position=positions[0]))
    session.execute(update(table).where(table.c.id == a.id).values(position=positions[1]))
    found = verify_events(session, secret=secret).first_break
    assert found is not None and (found.seq, found.code) == (positions[0], "link_broken")


def test_an_inserted_event_is_found(session: Session, secret: str) -> None:
    positions = _events(session, 2)
    table = Event.__table__
    last = _event(session, positions[-1])
    forged = {**last._asdict(), "position": positions[-1] + 1, "seq": last.seq + 1}
    forged.pop("id")
    forged["chain_hash"] = chain_link(last.chain_hash, forged["position"], forged["hash"])
    session.execute(insert(table).values(**forged))
    found = verify_events(session, secret=secret).first_break  # its own hash does not cover the new seq
    assert found is not None and (found.seq, found.code) == (positions[-1] + 1, "modified")


def test_events_sequenced_before_the_chain_are_chained_by_catching_up(session: Session, secret: str) -> None:
    positions = _events(session, 3)
    table = Event.__table__
    session.execute(update(table).where(table.c.position >= positions[0]).values(chain_hash=None))
    before = _event(session, positions[0] - 1) if positions[0] > 1 else None
    set_head(session, EVENTS, positions[0] - 1, before.chain_hash if before else "0" * 64)
    assert verify_events(session, secret=secret).unchained >= 3
    while sequence_events(session, batch=2):
        pass
    result = verify_events(session, secret=secret)
    assert result.ok and result.unchained == 0 and lock_head(session, EVENTS)[0] == positions[-1]
    assert session.scalar(select(HEAD.c.seq).where(HEAD.c.name == EVENTS)) == positions[-1]
