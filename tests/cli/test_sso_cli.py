"""``xietong sso``: list a person's single sign-on links and remove them (audited), so the next log-in links afresh."""

from __future__ import annotations

from sqlalchemy import select

import xietong.cli.sso  # noqa: F401  (registers the command group)
from tests.cli.conftest import CliDb
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.security.models import AuditRecord, SsoLink


def test_links_are_listed_and_removed(cli_db: CliDb) -> None:
    with unit_of_work(cli_db.engine) as session:
        person = Person(employee_code="E-SSO-1", username="zhao", name="赵一")
        session.add(person)
        session.flush()
        session.add_all([SsoLink(issuer="https://idp.example", subject="u-1", person_id=person.id, linked_at=utcnow()),
                         SsoLink(issuer="messaging:corp", subject="dt-E-SSO-1", person_id=person.id,
                                 linked_at=utcnow())])
    listing = cli_db.run("sso", "links", "zhao")
    assert listing.exit_code == 0, listing.output
    assert "https://idp.example" in listing.output and "共 2 个关联" in listing.output
    one = cli_db.run("sso", "unlink", "zhao", "--issuer", "messaging:corp")
    assert one.exit_code == 0 and "1 个" in one.output, one.output
    with unit_of_work(cli_db.engine) as session:
        assert list(session.scalars(select(SsoLink.issuer))) == ["https://idp.example"]
        audit = session.scalar(select(AuditRecord).where(AuditRecord.action == "auth.sso_unlinked"))
        assert audit is not None and audit.detail["issuer"] == "messaging:corp"
    assert cli_db.run("sso", "unlink", "zhao", "--issuer", "messaging:corp").exit_code != 0  # nothing left there
    assert cli_db.run("sso", "unlink", "nobody").exit_code != 0
