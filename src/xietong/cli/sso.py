"""``xietong sso``: a person's single sign-on links — list them, remove one so the next log-in links afresh.

A link is never re-pointed by a log-in (``security/sso.py``): when a person's 工号 changed at the identity
provider, or their account there was replaced, the administrator removes the old link here, audited.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from xietong.cli import app
from xietong.cli.common import database, out, reported
from xietong.db.session import read_only, unit_of_work
from xietong.directory import service as directory
from xietong.directory.models import Person
from xietong.errors import NotFound
from xietong.security import sso
from xietong.security.audit import record
from xietong.security.principal import SYSTEM_PRINCIPAL

sso_app = typer.Typer(help="单点登录关联 (sso links)", no_args_is_help=True)
app.add_typer(sso_app, name="sso")

Username = Annotated[str, typer.Argument(help="用户名")]


def _person(session: Session, username: str) -> Person:
    person = directory.person_by_username(session, username=username)
    if person is None:
        raise NotFound(code="person_not_found", detail=f"找不到用户名为 {username} 的人员")
    return person


@sso_app.command("links", help="列出一个人员的单点登录关联")
def links(username: Username) -> None:
    with reported(), database() as engine, read_only(engine) as session:
        rows = sso.links_of(session, person_id=_person(session, username).id)
        table = Table("来源", "外部账号", "关联于", "最近登录")
        for row in rows:
            table.add_row(row.issuer, row.subject, f"{row.linked_at:%Y-%m-%d %H:%M}",
                          f"{row.last_login_at:%Y-%m-%d %H:%M}" if row.last_login_at else "—")
    out().print(table)
    out().print(f"共 {len(rows)} 个关联")


@sso_app.command("unlink", help="解除一个人员的单点登录关联（下次登录时按工号重新关联）")
def unlink(
    username: Username,
    issuer: Annotated[str | None, typer.Option("--issuer", help="只解除这个来源的关联")] = None,
) -> None:
    with reported(), database() as engine, unit_of_work(engine) as session:
        person = _person(session, username)
        removed = sso.unlink(session, person_id=person.id, issuer=issuer)
        record(session, SYSTEM_PRINCIPAL, "auth.sso_unlinked", target_kind="person", target_id=person.id,
               detail={"issuer": issuer, "removed": removed, "via": "cli"})
    out().print(f"[green]已解除[/green]：{username} 的 {removed} 个单点登录关联")
