"""Local passwords: argon2id hashes (argon2-cffi), the password rule, and a person's credential row.

The rule's length and number of character classes are configurable (``XIETONG_PASSWORD_MIN_LENGTH``,
``XIETONG_PASSWORD_MIN_CLASSES``), read once per process; never below 8 characters and 2 classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.db.base import utcnow
from xietong.errors import FieldProblem, InvalidInput
from xietong.security.models import Credential

MIN_LENGTH = 10  # the default; the floor of any configuration is 8
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


@dataclass(frozen=True)
class PasswordRule:
    min_length: int = MIN_LENGTH
    min_classes: int = 3


@lru_cache(maxsize=1)
def configured_rule() -> PasswordRule:
    """The rule from the environment (``Settings`` validates the bounds), read once per process."""
    settings = Settings()
    return PasswordRule(settings.password_min_length, settings.password_min_classes)


def password_problems(password: str, *, username: str = "", rule: PasswordRule | None = None) -> list[FieldProblem]:
    """The password rule (by default at least 10 characters, three of four character classes), never
    containing the user name."""
    rule = rule or configured_rule()
    problems = []
    if len(password) < rule.min_length:
        problems.append(FieldProblem("password", f"密码至少 {rule.min_length} 位", "password_too_short"))
    if sum(1 for pattern in _CLASSES if pattern.search(password)) < rule.min_classes:
        message = f"密码须包含大写字母、小写字母、数字、符号中的至少{'一二三四'[rule.min_classes - 1]}类"
        problems.append(FieldProblem("password", message, "password_too_simple"))
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
