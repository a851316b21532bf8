"""Personal data shown masked unless the viewer's role may see it: the one helper every list uses.

Phone numbers keep their first three and last four digits (``138****5678``), identity numbers their
first six and last four (``331102********1234``). A person always sees their own data unmasked; the
system and security administrators (who maintain people) see everyone's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from xietong.security.principal import Principal

#: Roles whose holders maintain people and so may see their personal data unmasked.
PERSONAL_DATA_ROLES = frozenset({"system_admin", "security_admin"})


class _HasPhone(Protocol):
    id: int
    phone: str | None

    def model_copy(self, *, update: dict[str, object] | None = None, deep: bool = False) -> _HasPhone: ...


P = TypeVar("P", bound=_HasPhone)


def may_see_personal_data(principal: Principal) -> bool:
    return principal.kind == "system" or principal.has_role(*PERSONAL_DATA_ROLES)


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    chars = [c for c in value if c.isalnum()]
    if len(chars) <= keep_start + keep_end:
        return "*" * len(value)
    out, seen = [], 0
    for c in value:
        if c.isalnum():
            out.append(c if seen < keep_start or seen >= len(chars) - keep_end else "*")
            seen += 1
        else:
            out.append(c)
    return "".join(out)


def mask_phone(value: str | None) -> str | None:
    return None if value is None else _mask(value, 3, 4)


def mask_id_number(value: str | None) -> str | None:
    return None if value is None else _mask(value, 6, 4)


def people_for(principal: Principal, people: Iterable[P]) -> list[P]:
    """People as ``principal`` may see them: phones masked, except their own or for a personal-data role."""
    if may_see_personal_data(principal):
        return list(people)
    return [
        p if p.id == principal.id or p.phone is None else p.model_copy(update={"phone": mask_phone(p.phone)})  # type: ignore[misc]
        for p in people
    ]
