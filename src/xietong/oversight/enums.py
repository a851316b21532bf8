"""The vocabularies of oversight: rating levels, order kinds and states."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"


LEVEL_LABELS: dict[str, str] = {
    Level.VERY_SATISFIED: "非常满意",
    Level.SATISFIED: "满意",
    Level.BASICALLY_SATISFIED: "基本满意",
    Level.DISSATISFIED: "不满意",
    Level.VERY_DISSATISFIED: "非常不满意",
}
BAD_LEVELS = frozenset({Level.DISSATISFIED, Level.VERY_DISSATISFIED})


class OrderKind(StrEnum):
    SUPERVISION = "supervision"  # 督办
    RECTIFICATION = "rectification"  # 整改


class OrderState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
