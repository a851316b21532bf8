"""The password rule: its defaults, and its length and classes taken from the configuration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from xietong.config import Settings
from xietong.security.passwords import PasswordRule, configured_rule, password_problems


@pytest.fixture
def fresh_rule() -> Iterator[None]:
    configured_rule.cache_clear()
    yield
    configured_rule.cache_clear()


def _codes(password: str, **kwargs: object) -> set[str]:
    return {p.code for p in password_problems(password, **kwargs)}  # type: ignore[arg-type]


def test_the_default_rule_wants_ten_characters_of_three_classes(fresh_rule: None) -> None:
    assert _codes("Short1!") == {"password_too_short"}
    assert _codes("alllowercaseletters") == {"password_too_simple"}
    assert _codes("Xietong-2026!", username="xietong") == {"password_contains_username"}
    assert _codes("Good-Passw0rd") == set()


def test_length_and_classes_come_from_the_environment(fresh_rule: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIETONG_PASSWORD_MIN_LENGTH", "14")
    monkeypatch.setenv("XIETONG_PASSWORD_MIN_CLASSES", "4")
    assert configured_rule() == PasswordRule(14, 4)
    problems = password_problems("Good-Passw0rd")
    assert {p.code for p in problems} == {"password_too_short"} and "14" in problems[0].message
    assert _codes("GoodPassword0123") == {"password_too_simple"}
    assert "四类" in password_problems("GoodPassword0123")[0].message
    assert _codes("Good-Password-0123") == set()


def test_a_rule_below_the_floor_is_refused() -> None:
    for env in ({"password_min_length": 6}, {"password_min_classes": 1}):
        with pytest.raises(ValidationError):
            Settings(**env)  # type: ignore[arg-type]
