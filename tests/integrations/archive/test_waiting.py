"""A case whose result document the provincial e-seal service still holds is set aside, not waited for: the
archive follower packs the cases after it, and packs the set-aside one once its seal is back."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.integrations.cases import ALL, archive, concluded_case
from xietong.cases.changelog import sequence_events
from xietong.config import Settings
from xietong.integrations.archive import service as archiving
from xietong.integrations.archive.models import ArchivePackage, ArchiveWaiting
from xietong.integrations.seal import service as seals
from xietong.integrations.seal.models import SealedResult

LOCAL = Settings(demo=True, secret_key="a-test-instance-secret-that-is-long-enough-42")


def _packed(session: Session, case_id: int) -> bool:
    return session.scalar(select(ArchivePackage.id).where(ArchivePackage.case_id == case_id)) is not None


def _seal_state(session: Session, case_id: int, state: str) -> None:
    session.execute(update(SealedResult).where(SealedResult.case_id == case_id).values(state=state))


def test_a_seal_that_does_not_come_back_holds_up_only_its_own_case(session: Session) -> None:
    city, first = concluded_case(session)
    archive(session, city, first)
    _, second = concluded_case(session, city=city)
    archive(session, city, second)
    seals.seal_results(session, settings=LOCAL, batch=ALL)
    _seal_state(session, first, "pending")  # as if the provincial service still had the first result document
    sequence_events(session)

    archiving.archive_cases(session, settings=LOCAL, batch=ALL)
    assert not _packed(session, first) and _packed(session, second)
    waiting = session.get(ArchiveWaiting, first)
    assert waiting is not None
    assert archiving.waiting_for_seal(session)[0] >= 1

    archiving.archive_cases(session, settings=LOCAL, batch=ALL)  # still pending: still set aside, nothing twice
    assert not _packed(session, first) and session.get(ArchiveWaiting, first) is not None

    _seal_state(session, first, "sealed")
    archiving.archive_cases(session, settings=LOCAL, batch=ALL)
    assert _packed(session, first)
    assert session.get(ArchiveWaiting, first) is None
    assert session.scalars(select(ArchivePackage.case_id).where(
        ArchivePackage.case_id.in_((first, second)))).all().count(first) == 1
