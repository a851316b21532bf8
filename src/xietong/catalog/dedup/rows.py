"""The raw deployed-matter row (one line of a region's list) that de-duplication reads."""

from __future__ import annotations

from dataclasses import dataclass, replace

KIND_LABELS = {"即办件": "immediate", "即办": "immediate", "承诺件": "promised", "承诺": "promised"}
KIND_NAMES = {"immediate": "即办件", "promised": "承诺件"}


@dataclass(frozen=True)
class RawRow:
    """One deployed matter as a region listed it; ``number`` is its row as Excel shows it (header = 1)."""

    number: int
    name: str
    code: str
    unit_name: str
    unit_code: str  # 实施主体编码, "" when the list gives only the USCC
    uscc: str  # 统一社会信用代码, "" when the list gives only the unit code
    region_code: str
    kind: str  # immediate | promised
    legal_limit_days: int
    promised_limit_days: int
    function: str | None = None  # the unit's function, filled in from the directory when known
    unit_aliases: tuple[str, ...] = ()  # the unit's other names in the directory (short name), stripped as prefixes

    @property
    def unit_ref(self) -> str:
        """What identifies the implementing unit in the list: USCC first, else unit code, else its name."""
        return self.uscc or self.unit_code or self.unit_name

    @property
    def is_city(self) -> bool:
        """市本级: a prefecture-level division code ends in 00 (GB/T 2260)."""
        return self.region_code.endswith("00")

    def with_unit(self, function: str | None, *aliases: str) -> RawRow:
        """The row with what the directory knows of its unit: function and other names."""
        return replace(self, function=function, unit_aliases=tuple(a for a in aliases if a))
