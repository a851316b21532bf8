"""Local passwords: argon2id hashes (argon2-cffi), the password rule, and a person's credential row."""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from xietong.db.base import utcnow
from xietong.errors import FieldProblem, InvalidInput
from xietong.security.models import Credential

MIN_LENGTH = 10
_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^a-zA-Z0-9]"))


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; a malformed stored hash counts as a mismatch, never a crash."""
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problems(password: str, *, username: str = "") -> list[FieldProblem]:
    """The password rule: at least 10 characters, three of four character classes, not the user name."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(FieldProblem("password", f"密码至少 {MIN_LENGTH} 位", "password_too_short"))
    if sum(1 for pattern in _CLASSES if pattern.search(password)) < 3:
        problems.append(
            FieldProblem("password", "密码须包含大写字母、小写字母、数字、符号中的至少三类", "password_too_simple")
        )
    if username and username.lower() in password.lower():
        problems.append(FieldProblem("password", "密码不能包含用户名", "password_contains_username"))
    return problems


def set_password(
    session: Session, *, person_id: int, password: str, username: str = "", must_change: bool = False
) -> Credential:
    """Set (or reset) a person's password after checking the rule; clears any lock-out."""
    problems = password_problems(password, username=username)
    if problems:
        raise InvalidInput(code="weak_password", detail="密码不符合要求", errors=problems)
    credential = session.get(Credential, person_id)
    if credential is None:
        credential = Credential(person_id=person_id, password_hash="")
        session.add(credential)
    credential.password_hash = hash_password(password)
    credential.must_change = must_change
    credential.failed_count = 0
    credential.locked_until = None
    credential.changed_at = utcnow()
    session.flush()
    return credential
