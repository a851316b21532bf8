"""The second factor: TOTP (RFC 6238, pyotp) with one-time recovery codes.

Required for the three administrators (三员: system, security and audit administrator), optional for
everyone else. Enrolment gives a secret and its ``otpauth://`` URI (any authenticator app reads it, typed
or as a QR code); a first valid code confirms it and returns ten recovery codes, shown once and stored
as SHA-256 digests. A code's 30-second step is accepted once only, so an overheard code cannot be replayed.

The TOTP secret itself must be stored readable (the server computes the same code); a copy of the
database therefore holds the second factors, which is why it complements the password and never
replaces it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from xietong.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from xietong.security.models import RecoveryCode, SecondFactor
from xietong.security.principal import Principal

ISSUER = "xietong 协同"
#: Roles that may not work without a second factor (三员分立's three administrators).
REQUIRES_SECOND_FACTOR = frozenset({"system_admin", "security_admin", "audit_admin"})
RECOVERY_CODES = 10
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after also counts (clocks drift)
_CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str


def requires_second_factor(principal: Principal) -> bool:
    return principal.kind == "person" and principal.has_role(*REQUIRES_SECOND_FACTOR)


def has_second_factor(session: Session, person_id: int) -> bool:
    factor = session.get(SecondFactor, person_id)
    return factor is not None and factor.confirmed_at is not None


def begin_enrolment(session: Session, *, person_id: int, username: str, now: datetime) -> Enrolment:
    """A new secret, not yet usable; an enrolled person must turn the old factor off first."""
    factor = session.get(SecondFactor, person_id)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict(code="totp_already_enrolled", detail="已经绑定了动态验证码；如需更换，请先解除绑定")
    secret = pyotp.random_base32()
    if factor is None:
        session.add(SecondFactor(person_id=person_id, secret=secret, created_at=now))
    else:
        factor.secret, factor.created_at, factor.last_step = secret, now, None
    session.flush()
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER))


def confirm_enrolment(session: Session, *, person_id: int, code: str, now: datetime) -> list[str]:
    """Confirm an enrolment with a first code; returns the recovery codes (the only time they are shown)."""
    factor = session.get(SecondFactor, person_id)
    if factor is None:
        raise NotFound(code="totp_not_started", detail="还没有开始绑定动态验证码")
    if factor.confirmed_at is not None:
        raise Conflict(code="totp_already_enrolled", detail="动态验证码已经绑定")
    step = _matching_step(factor, code, now)
    if step is None:
        raise InvalidInput(code="bad_totp", detail="动态验证码不正确，请核对手机时间后重试")
    factor.confirmed_at, factor.last_step = now, step
    session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(person_id=person_id, digest=_digest(c)) for c in codes)
    session.flush()
    return codes


def check_second_factor(session: Session, *, person_id: int, code: str, now: datetime) -> bool:
    """A valid, unused TOTP code or recovery code of the person (using it spends it)."""
    factor = session.get(SecondFactor, person_id)
    if factor is None or factor.confirmed_at is None:
        return False
    cleaned = code.strip().replace(" ", "")
    if _CODE.match(cleaned):
        step = _matching_step(factor, cleaned, now)
        if step is None:
            return False
        factor.last_step = step
        session.flush()
        return True
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.person_id == person_id,
            RecoveryCode.digest == _digest(cleaned),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(spent.rowcount)  # type: ignore[attr-defined]


def remove_second_factor(session: Session, *, principal: Principal, code: str, now: datetime) -> None:
    """Turn one's own second factor off (with a valid code); administrators may not work without one."""
    assert principal.id is not None
    if requires_second_factor(principal):
        raise Forbidden(code="totp_required_for_admins", detail="管理员必须使用动态验证码，不能解除绑定")
    if not check_second_factor(session, person_id=principal.id, code=code, now=now):
        raise InvalidInput(code="bad_totp", detail="动态验证码不正确或已使用")
    session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == principal.id))
    session.execute(delete(SecondFactor).where(SecondFactor.person_id == principal.id))


def recovery_codes_left(session: Session, person_id: int) -> int:
    rows = session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None))
    )
    return len(rows.all())


def session_restriction(
    principal: Principal, *, must_change: bool, second_factor_at: datetime | None
) -> DomainError | None:
    """What a session must do before it may do anything else: change its initial password, or (an
    administrator) log in with — or first enrol — a second factor."""
    if must_change:
        return Forbidden(code="password_change_required", detail="初始密码须先修改，修改后才能继续使用")
    if requires_second_factor(principal) and second_factor_at is None:
        return Forbidden(
            code="totp_enrolment_required",
            detail="管理员须使用动态验证码登录：请先绑定动态验证码（TOTP），或使用动态验证码重新登录",
        )
    return None


def _matching_step(factor: SecondFactor, code: str, now: datetime) -> int | None:
    """The time step whose code this is (within the drift), unless that step was already used."""
    if not _CODE.match(code):
        return None
    totp = pyotp.TOTP(factor.secret)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        moment = now + timedelta(seconds=offset * STEP_SECONDS)
        if hmac.compare_digest(totp.at(moment), code):
            step = totp.timecode(moment)
            if factor.last_step is not None and step <= factor.last_step:
                return None  # replayed (or older than one already used)
            return step
    return None


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5)  # 10 hex digits: 40 bits, one-time use
    return f"{raw[:5]}-{raw[5:]}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()
