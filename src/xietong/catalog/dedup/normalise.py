"""Matter-name normalisation for de-duplication: one raw name becomes comparable, word-order-insensitive keys.

The steps, in order (``normalise_name``):

1. **Width and marks**: NFKC folds full-width letters, digits and brackets to half width; white space, quotes
   (“”‘’"'), title marks (《》) and list punctuation (、，,;；:：/·-) are dropped.
2. **Brackets** — ``()``, ``[]``, ``【】``, ``〔〕`` — are cut out of the name and kept apart as *qualifiers*. A
   qualifier made only of region names and level words (``青田县``, ``县级``, ``市本级``, ``试行``…, see
   :data:`NOISE_WORDS`) is noise and dropped; one made only of key verbs (``变更``) adds them to the key verbs;
   any other (``预拨``, ``批量``) *distinguishes* the matter and must match exactly.
3. **Prefixes**: the implementing unit's own name, then region names (:data:`REGION_NAMES` plus any the caller
   passes, e.g. from the directory) and level words are stripped from the front, repeatedly; then ``关于``.
4. **Synonyms** (:data:`SYNONYMS`, longest first) map variants to one canonical word: ``拨款``/``下拨`` →
   ``拨付``, ``报备`` → ``备案``, ``可研`` → ``可行性研究``, ``公车`` → ``公务用车``…
5. **Fillers** (:data:`FILLERS`: ``的``, ``相关``, ``有关``, ``事项``, ``情况``, ``工作``) are removed, and a
   trailing ``办理`` when something is left.
6. **Segmentation**: the name is split greedily (longest first) at the action words of :data:`ACTIONS`
   (``审批``, ``拨付``, ``使用``…); key verbs (:data:`KEY_VERBS`: ``新增 变更 注销 延续 调整 调入 调出``…)
   are set apart; the stretches in between are objects, further split at ``和/及/与/以及``.
7. **Key**: sorted objects, sorted actions and sorted key verbs, so ``拨付专项资金`` and ``专项资金拨付`` — and
   ``会议室及场地使用`` and ``场地和会议室使用`` — have the same key.

The tables are data, not code: extend them when a real list shows a new variant (and add the case to the
hand-labelled fixture in ``tests/catalog/fixtures``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

#: Region names of the reference deployment (丽水), stripped as prefixes and ignored as qualifiers.
REGION_NAMES: tuple[str, ...] = (
    "浙江省", "丽水市", "莲都区", "青田县", "缙云县", "遂昌县", "松阳县", "云和县", "庆元县", "景宁畲族自治县",
    "景宁县", "龙泉市", "丽水经济技术开发区", "经济技术开发区", "丽水开发区", "开发区", "经开区",
)  # fmt: skip
#: Short region names: ignored as qualifiers only (as a prefix they could begin a real name: 龙泉青瓷…).
REGION_SHORT_NAMES: tuple[str, ...] = ("丽水", "莲都", "青田", "缙云", "遂昌", "松阳", "云和", "庆元", "景宁", "龙泉")
#: Level words: stripped as prefixes and ignored as qualifiers.
LEVEL_WORDS: tuple[str, ...] = ("市本级", "市级", "县级", "区级", "本级", "全市", "全县", "全区", "县(市、区)")
#: Words that make a bracketed qualifier noise when it holds nothing else.
NOISE_WORDS: tuple[str, ...] = (
    *REGION_NAMES, *REGION_SHORT_NAMES, *LEVEL_WORDS,
    "试行", "暂行", "机关内部", "内部", "部门间", "权限", "实施", "市", "县", "区", "级", "机关", "单位",
)  # fmt: skip

#: Variant → canonical word. Both sides of every comparison go through the same table.
SYNONYMS: dict[str, str] = {
    # paying out
    "拨款": "拨付", "下拨": "拨付", "划拨": "拨付",
    # filing and approving
    "报备": "备案", "批准": "审批", "批复": "审批", "审定": "审核",
    # checking
    "核实": "核查", "核验": "核查",
    # key verbs
    "延期": "延续", "续期": "延续", "续办": "延续", "新办": "新增", "新设立": "新增", "新设": "新增",
    "更改": "变更", "撤消": "撤销",
    # allocating and applying
    "调剂": "调配", "申领": "申请", "申报": "申请",
    # objects
    "经费": "资金", "可研": "可行性研究", "公车": "公务用车", "公务车辆": "公务用车", "人社": "人力社保",
    "人力资源和社会保障": "人力社保", "办公室用房": "办公用房", "事业单位登记": "事业单位法人登记",
}  # fmt: skip
#: Removed wherever they occur (after synonyms).
FILLERS: tuple[str, ...] = ("的", "相关", "有关", "事项", "情况", "工作")
#: Verbs that change what a matter is: two names differing in them are never the same matter.
KEY_VERBS: frozenset[str] = frozenset(
    re.findall(r"\S+", "新增 设立 变更 注销 撤销 延续 调整 调入 调出 追加 预拨 清算 补办 换发 恢复 转移 终止 暂停")
)
#: Action words the name is segmented at (besides the key verbs); order inside a name is free.
ACTIONS: frozenset[str] = frozenset(
    re.findall(
        r"\S+",
        "审批 审核 审查 核准 核定 核查 认定 评估 评审 评定 备案 登记 拨付 申请 申报 领购 查询 查阅 借阅 调取 "
        "利用 使用 调用 调配 调拨 调度 安排 借用 协调 协作 联动 化解 推荐 论证 报送 移交 移送 处理 转办 交办 "
        "出具 发放 购置 维修 处置 检查 鉴定 检定 共享 开放 接入 上架 迁移 刻制 引进 招聘 销号 整改 征收 "
        "赋码 答复 指派 派遣 会签 核稿 监审 确认 指导 运用 调查 申办 兑现",
    )
)
_CONNECTORS = re.compile("以及|和|及|与|或")
_MARKS = re.compile(r"[\s\"'“”‘’《》、，,;；:：/·\-—_.。!！?？]")
_BRACKETS = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]|【([^【】]*)】|〔([^〔〕]*)〕")


@dataclass(frozen=True)
class NormalName:
    """A matter name made comparable: what it acts on, how, and what sets it apart."""

    raw: str
    display: str  # the name as a person would write it, without region prefixes or noise qualifiers
    objects: tuple[str, ...]  # sorted
    actions: tuple[str, ...]  # sorted, key verbs excluded
    key_verbs: tuple[str, ...]  # sorted multiset: 调整 twice differs from 调整 once
    qualifiers: tuple[str, ...]  # sorted distinguishing qualifiers

    @property
    def key(self) -> str:
        """Word-order-insensitive key: equal keys and equal qualifiers mean the same name."""
        return f"{''.join(self.objects)}|{''.join(self.actions)}|{''.join(self.key_verbs)}"

    @property
    def object_text(self) -> str:
        return "".join(self.objects)


def fold(text: str) -> str:
    """Full width to half width (NFKC), lower-case Latin letters, no white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def normalise_name(name: str, *, unit_names: Iterable[str] = (), regions: Iterable[str] = ()) -> NormalName:
    """Normalise one raw matter name; ``unit_names`` are the implementing unit's names, stripped as prefixes."""
    text = fold(name)
    body, qualifiers = _cut_brackets(text)
    prefixes = _prefixes(tuple(sorted({fold(u) for u in unit_names if u} | {fold(r) for r in regions})))
    body = _strip_prefixes(body, prefixes)
    display = _display(body, qualifiers)
    body = _clean(body)
    key_verbs: list[str] = []
    kept: list[str] = []
    for qualifier in qualifiers:
        cleaned = _clean(qualifier)
        if not _strip_words(cleaned, _NOISE_SORTED):
            continue
        verbs = _key_verbs_only(cleaned)
        if verbs is not None:
            key_verbs += verbs
        else:
            kept.append(cleaned)
    objects, actions, verbs = _segment(body)
    return NormalName(
        raw=name,
        display=display,
        objects=tuple(sorted(objects)),
        actions=tuple(sorted(actions)),
        key_verbs=tuple(sorted(key_verbs + verbs)),
        qualifiers=tuple(sorted(kept)),
    )


def strip_region(name: str, *, regions: Iterable[str] = ()) -> str:
    """A unit or matter name without its leading region names and level words (for display and unit keys)."""
    prefixes = _prefixes(tuple(sorted(fold(r) for r in regions)))
    return _strip_prefixes(fold(name), prefixes)


# --- steps --------------------------------------------------------------------------------------------------


def _cut_brackets(text: str) -> tuple[str, list[str]]:
    """The name without bracketed parts (innermost first), and those parts."""
    qualifiers: list[str] = []

    def keep(match: re.Match[str]) -> str:
        qualifiers.append(next(group for group in match.groups() if group is not None))
        return ""

    while True:
        text, count = _BRACKETS.subn(keep, text)
        if not count:
            break
    return re.sub(r"[()\[\]【】〔〕]", "", text), [q for q in qualifiers if q]


@lru_cache(maxsize=256)
def _prefixes(extra: tuple[str, ...]) -> tuple[str, ...]:
    words = {fold(w) for w in (*REGION_NAMES, *LEVEL_WORDS)} | set(extra)
    for word in list(words):  # a unit's name without its region: 青田县财政局 → 财政局
        stripped = word
        for region in REGION_NAMES:
            stripped = stripped.removeprefix(region)
        if stripped and stripped != word and len(stripped) > 1:
            words.add(stripped)
    return tuple(sorted(words, key=len, reverse=True))


def _strip_prefixes(text: str, prefixes: tuple[str, ...]) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if prefix and text.startswith(prefix) and len(text) > len(prefix) + 1:
                text, changed = text[len(prefix) :], True
                break
    for lead in ("关于", "对"):
        if text.startswith(lead) and len(text) > len(lead) + 1:
            text = text[len(lead) :]
    return text


def _display(body: str, qualifiers: list[str]) -> str:
    shown = [q for q in qualifiers if _strip_words(_clean(q), _NOISE_SORTED)]
    return _MARKS.sub("", body) + "".join(f"（{q}）" for q in shown)


_SYNONYM_RE = re.compile("|".join(re.escape(k) for k in sorted(SYNONYMS, key=len, reverse=True)))
_NOISE_SORTED = tuple(sorted({fold(w) for w in NOISE_WORDS}, key=len, reverse=True))
_ACTION_WORDS = tuple(sorted(ACTIONS | KEY_VERBS, key=len, reverse=True))


def _clean(text: str) -> str:
    text = _MARKS.sub("", text)
    text = _SYNONYM_RE.sub(lambda m: SYNONYMS[m.group(0)], text)
    for filler in FILLERS:
        text = text.replace(filler, "")
    while text.endswith("办理") and len(text) > 4:
        text = text[:-2]
    return text


def _strip_words(text: str, words: tuple[str, ...]) -> str:
    for word in words:
        text = text.replace(word, "")
    return text


def _key_verbs_only(text: str) -> list[str] | None:
    """The key verbs a qualifier consists of, or None when it holds anything else."""
    found: list[str] = []
    rest = text
    while rest:
        verb = next((v for v in KEY_VERBS if rest.startswith(v)), None)
        if verb is None:
            return None
        found.append(verb)
        rest = rest[len(verb) :]
    return found


def _segment(text: str) -> tuple[list[str], list[str], list[str]]:
    """Objects, actions and key verbs of a cleaned name (greedy longest match of the action words)."""
    objects: list[str] = []
    actions: list[str] = []
    verbs: list[str] = []
    pending = ""
    i = 0
    while i < len(text):
        word = next((w for w in _ACTION_WORDS if text.startswith(w, i)), None)
        if word is None:
            pending += text[i]
            i += 1
            continue
        objects += _parts(pending)
        pending = ""
        (verbs if word in KEY_VERBS else actions).append(word)
        i += len(word)
    objects += _parts(pending)
    return objects, actions, verbs


def _parts(text: str) -> list[str]:
    return [part for part in _CONNECTORS.split(text) if part]
