"""Single sign-on: an identity proved by an outside system (an OpenID provider's ``iss`` + ``sub``, the messaging
platform's user id from a 免登 code) becomes a browser session of the person it is linked to.

The first log-in links the outside identity to the existing person whose employee code (工号) the outside system
vouches for; later log-ins follow the stored link. Nobody is ever created here: no person with that code, an
inactive person, a locked account — each is refused with its own code. A link is never re-pointed silently: an
identity whose 工号 now names somebody else, or a second identity claiming a person already linked at the same
issuer, is refused until an administrator removes the old link (``unlink``).

The second factor: a person with a confirmed TOTP is still asked for a code after single sign-on (the outside
system's own ``amr`` only counts when the deployment lists it as trusted), like after a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xietong.directory.models import Person
from xietong.errors import Forbidden, NotFound, Unauthenticated
from xietong.security import auth
from xietong.security.models import Credential, SsoLink
from xietong.security.totp import check_second_factor, has_second_factor


@dataclass(frozen=True)
class OutsideIdentity:
    """Who the outside system says logged in: its issuer, its stable subject id, the 工号 it vouches for."""

    issuer: str
    subject: str
    employee_code: str | None
    amr: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolved:
    person_id: int
    linked: bool  # this log-in created the link


def _refused(code: str, detail: str) -> Forbidden:
    return Forbidden(code=code, detail=detail)


def resolve_person(session: Session, *, identity: OutsideIdentity, now: datetime) -> Resolved:
    """The person an outside identity logs in as, linking it on its first log-in; refusals raise ``Forbidden``
    before anything is written."""
    code = (identity.employee_code or "").strip() or None
    link = session.scalar(select(SsoLink).where(SsoLink.issuer == identity.issuer,
                                                SsoLink.subject == identity.subject))
    if link is not None:
        person = session.get(Person, link.person_id)
        assert person is not None  # a link's person is never deleted (foreign key)
        if code is not None and code != person.employee_code:
            raise _refused("sso_link_mismatch", f"统一身份认证返回的工号 {code} 与已关联的人员不一致，"
                                                "为安全起见拒绝登录；请联系系统管理员核对")
    else:
        if code is None:
            raise _refused("sso_no_employee_code", "统一身份认证没有提供工号，无法确定您在本系统中的账号；"
                                                   "请联系系统管理员")
        person = session.scalar(select(Person).where(Person.employee_code == code))
        if person is None:
            raise _refused("sso_no_person", f"本系统中没有工号为 {code} 的人员；单点登录不会自动新建账号，"
                                            "请联系系统管理员先在组织机构中登记")
        taken = session.scalar(select(SsoLink.subject).where(SsoLink.person_id == person.id,
                                                             SsoLink.issuer == identity.issuer))
        if taken is not None:
            raise _refused("sso_person_linked", f"工号 {code} 的人员已关联了另一个统一身份认证账号，"
                                                "为安全起见拒绝登录；请联系系统管理员核对")
    _check_may_log_in(session, person, now)
    created = link is None
    if link is None:
        link = SsoLink(issuer=identity.issuer, subject=identity.subject, person_id=person.id, linked_at=now)
        session.add(link)
    link.last_login_at = now
    session.flush()
    return Resolved(person.id, linked=created)


def _check_may_log_in(session: Session, person: Person, now: datetime) -> None:
    if not person.active:
        raise _refused("sso_inactive", "您的账号已停用，不能登录；请联系系统管理员")
    credential = session.get(Credential, person.id)
    if credential is not None and credential.locked_until is not None and credential.locked_until > now:
        minutes = max(1, int((credential.locked_until - now).total_seconds() // 60) + 1)
        raise _refused("account_locked", f"账号已锁定，请 {minutes} 分钟后再试")


def needs_second_factor(session: Session, *, person_id: int, identity: OutsideIdentity,
                        trusted_amr: frozenset[str]) -> bool:
    """A person with a confirmed TOTP gives a code, unless the outside system reports a method we trust."""
    if trusted_amr and trusted_amr.intersection(identity.amr):
        return False
    return has_second_factor(session, person_id)


def finish_with_second_factor(
    session: Session, *, person_id: int, code: str, now: datetime, idle_minutes: int
) -> auth.LoginOutcome:
    """The TOTP step after single sign-on: a right code opens the session; a wrong one counts towards the
    lock-out like a wrong password (returned, not raised, so the count commits)."""
    person = session.get(Person, person_id)
    if person is None:
        return auth.LoginOutcome(None, error=Unauthenticated(code="session_expired", detail="登录已过期，请重新登录"))
    try:
        _check_may_log_in(session, person, now)
    except Forbidden as exc:
        return auth.LoginOutcome(person_id, error=exc)
    if not check_second_factor(session, person_id=person_id, code=code, now=now):
        credential = session.get(Credential, person_id)
        if credential is not None:
            auth.count_failure(credential, now)
            session.flush()
        return auth.LoginOutcome(person_id, error=Unauthenticated(code="bad_totp", detail="动态验证码不正确或已使用"))
    return auth.start_session(session, person_id=person_id, now=now, idle_minutes=idle_minutes,
                              second_factor_at=now)


def links_of(session: Session, *, person_id: int) -> list[SsoLink]:
    return list(session.scalars(select(SsoLink).where(SsoLink.person_id == person_id).order_by(SsoLink.id)))


def unlink(session: Session, *, person_id: int, issuer: str | None = None) -> int:
    """Remove a person's links (all, or one issuer's): their next single sign-on links afresh by 工号."""
    statement = delete(SsoLink).where(SsoLink.person_id == person_id)
    if issuer is not None:
        statement = statement.where(SsoLink.issuer == issuer)
    removed = session.execute(statement).rowcount
    if not removed:
        raise NotFound(code="sso_link_not_found", detail="该人员没有单点登录关联")
    return int(removed)
