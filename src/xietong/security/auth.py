"""Authentication: password log-in with lock-out and a second factor, database-backed browser sessions,
personal API tokens.

Nothing secret is stored in the clear: a session cookie and an API token are random values of which
only the SHA-256 is kept, so a copy of the database does not let anyone act as a user. Sessions live
in the database, so idle timeout and log-out hold across any number of app processes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from xietong.directory.models import Person
from xietong.errors import DomainError, Forbidden, InvalidInput, NotFound, Unauthenticated
from xietong.security.models import ApiToken, Credential, RoleGrant, WebSession
from xietong.security.passwords import hash_password, set_password, verify_password
from xietong.security.totp import check_second_factor, has_second_factor

LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 30
SESSION_MAX_HOURS = 12  # absolute lifetime, whatever the activity
TOUCH_EVERY = timedelta(seconds=60)  # sliding expiry is written at most this often per session
TOKEN_PREFIX = "xt_"


def password_login_off() -> Forbidden:
    return Forbidden(code="password_login_disabled", detail="本系统已关闭密码登录，请使用统一身份认证登录")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("xietong-timing-equaliser")


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class LoginOutcome:
    """A log-in attempt; failures are returned (not raised) so the failure count commits."""

    person_id: int | None
    cookie: str = ""
    csrf_token: str = ""
    must_change: bool = False
    expires_at: datetime | None = None
    error: DomainError | None = None
    second_factor_at: datetime | None = None  # the log-in gave a valid second factor

    def raise_for_failure(self) -> None:
        if self.error is not None:
            raise self.error


def attempt_login(
    session: Session, *, username: str, password: str, now: datetime, idle_minutes: int,
    second_factor: str | None = None, break_glass: frozenset[str] | None = None,
) -> LoginOutcome:
    """Check a user name and password (and the second factor of a person who has one); on success open a
    session, on failure count it (5 → locked 30 min). A right password without a needed code is no failure:
    the answer ``totp_required`` asks for the code. ``break_glass`` set means local passwords are switched off:
    only the system administrators it names may still use one."""
    bad = Unauthenticated(code="bad_credentials", detail="用户名或密码错误")
    if break_glass is not None and username.strip() not in break_glass:
        return LoginOutcome(None, error=password_login_off())  # checked before any look-up: nothing to probe
    row = session.execute(
        select(Person.id, Person.active, Credential)
        .join(Credential, Credential.person_id == Person.id)
        .where(Person.username == username.strip())
    ).first()
    if row is None:
        verify_password(_dummy_hash(), password)  # same cost as a real check: no user-name probing by timing
        return LoginOutcome(None, error=bad)
    person_id, active, credential = row
    if not active:
        verify_password(_dummy_hash(), password)
        return LoginOutcome(None, error=bad)
    if break_glass is not None and not _is_system_admin(session, person_id):
        return LoginOutcome(person_id, error=password_login_off())
    if credential.locked_until is not None and credential.locked_until > now:
        minutes = max(1, int((credential.locked_until - now).total_seconds() // 60) + 1)
        locked = Forbidden(code="account_locked", detail=f"连续登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试")
        return LoginOutcome(person_id, error=locked)
    if not verify_password(credential.password_hash, password):
        count_failure(credential, now)
        session.flush()
        return LoginOutcome(person_id, error=bad)
    verified_at = None
    if has_second_factor(session, person_id):
        if not second_factor:
            needed = Unauthenticated(code="totp_required", detail="请输入动态验证码（或一个恢复码）")
            return LoginOutcome(person_id, error=needed)
        if not check_second_factor(session, person_id=person_id, code=second_factor, now=now):
            count_failure(credential, now)
            session.flush()
            return LoginOutcome(person_id, error=Unauthenticated(code="bad_totp", detail="动态验证码不正确或已使用"))
        verified_at = now
    credential.failed_count = 0
    credential.locked_until = None
    return start_session(
        session, person_id=person_id, now=now, idle_minutes=idle_minutes, second_factor_at=verified_at,
        must_change=credential.must_change,
    )


def start_session(
    session: Session, *, person_id: int, now: datetime, idle_minutes: int, second_factor_at: datetime | None,
    must_change: bool = False,
) -> LoginOutcome:
    """Open a browser session for a person whose identity was just proved (password here, single sign-on in
    ``security/sso.py``)."""
    cookie, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = now + timedelta(minutes=idle_minutes)
    session.add(
        WebSession(
            id=digest(cookie), person_id=person_id, csrf_token=csrf_token,
            created_at=now, last_seen_at=now, expires_at=expires_at,
            second_factor_at=second_factor_at, must_change=must_change,
        )
    )
    session.flush()
    return LoginOutcome(person_id, cookie, csrf_token, must_change, expires_at, second_factor_at=second_factor_at)


def _is_system_admin(session: Session, person_id: int) -> bool:
    grant = select(RoleGrant.id).where(RoleGrant.person_id == person_id, RoleGrant.role == "system_admin")
    return session.scalar(grant.limit(1)) is not None


def count_failure(credential: Credential, now: datetime) -> None:
    credential.failed_count += 1
    if credential.failed_count >= LOCK_AFTER_FAILURES:
        credential.locked_until = now + timedelta(minutes=LOCK_MINUTES)
        credential.failed_count = 0


@dataclass(frozen=True)
class SessionInfo:
    id: str
    person_id: int
    csrf_token: str
    needs_touch: bool
    must_change: bool = False
    second_factor_at: datetime | None = None


def find_session(session: Session, *, cookie: str, now: datetime) -> SessionInfo:
    """The live session behind a cookie, or ``Unauthenticated`` (expired sessions are as good as gone)."""
    row = session.get(WebSession, digest(cookie))
    if row is None or row.expires_at <= now or row.created_at + timedelta(hours=SESSION_MAX_HOURS) <= now:
        raise Unauthenticated(code="session_expired", detail="登录已过期，请重新登录")
    return SessionInfo(
        row.id, row.person_id, row.csrf_token, now - row.last_seen_at >= TOUCH_EVERY, row.must_change,
        row.second_factor_at,
    )


def mark_second_factor(session: Session, *, cookie: str, now: datetime) -> None:
    """The session's person just proved a second factor (enrolment confirmed in this session)."""
    session.execute(update(WebSession).where(WebSession.id == digest(cookie)).values(second_factor_at=now))


def touch_session(session: Session, *, session_id: str, now: datetime, idle_minutes: int) -> None:
    """Slide the idle expiry forward (written at most once a minute, so reads stay read-only)."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.expires_at > now)
        .values(last_seen_at=now, expires_at=now + timedelta(minutes=idle_minutes))
    )


def logout(session: Session, *, cookie: str) -> None:
    row = session.get(WebSession, digest(cookie))
    if row is not None:
        session.delete(row)
        session.flush()


def change_password(
    session: Session, *, person_id: int, old_password: str, new_password: str, keep_cookie: str | None = None
) -> None:
    """A person changes their own password; every other session of theirs ends (all but ``keep_cookie``'s)."""
    credential = session.get(Credential, person_id)
    if credential is None or not verify_password(credential.password_hash, old_password):
        raise InvalidInput(code="bad_old_password", detail="原密码不正确")
    if old_password == new_password:
        raise InvalidInput(code="password_unchanged", detail="新密码不能与原密码相同")
    username = session.scalar(select(Person.username).where(Person.id == person_id)) or ""
    set_password(session, person_id=person_id, password=new_password, username=username, must_change=False)
    others = delete(WebSession).where(WebSession.person_id == person_id)
    if keep_cookie:
        others = others.where(WebSession.id != digest(keep_cookie))
        session.execute(update(WebSession).where(WebSession.id == digest(keep_cookie)).values(must_change=False))
    session.execute(others)


# --- personal API tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def issue_token(
    session: Session, *, person_id: int, name: str, now: datetime, expires_at: datetime | None = None
) -> IssuedToken:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput(code="bad_token_name", detail="令牌名称须为 1–100 个字符")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(code="bad_token_expiry", detail="令牌有效期必须晚于当前时间")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(30)
    token = ApiToken(
        person_id=person_id, name=name, token_hash=digest(raw), prefix=raw[:10], created_at=now, expires_at=expires_at
    )
    session.add(token)
    session.flush()
    return IssuedToken(token, raw)


def token_person(session: Session, *, raw: str, now: datetime) -> tuple[int, int]:
    """(person id, token id) of a live token, or ``Unauthenticated``."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
    if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        raise Unauthenticated(code="bad_token", detail="API 令牌无效、已过期或已吊销")
    return token.person_id, token.id


def tokens_of(session: Session, *, person_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.person_id == person_id).order_by(ApiToken.id)))


def revoke_token(session: Session, *, person_id: int, token_id: int, now: datetime) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.person_id != person_id:
        raise NotFound(code="token_not_found", detail="没有这个令牌")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
