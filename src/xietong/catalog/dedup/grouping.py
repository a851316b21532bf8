"""Grouping the same matter across regions: blocking, scoring, guard rails and constrained union-find.

``group_matters(rows)`` proposes one group per base matter:

1. **Blocking**: rows are compared only within one unit function (the directory's, else the unit's name without
   its region), and within a block only name classes sharing a character bigram are scored.
2. **Candidate joins**, each with its evidence (``Evidence``: the two rows, a 0–100 score, the rule):
   ``规范化名称相同`` — equal normalised keys and qualifiers (score 100); ``名称相似`` — rapidfuzz ``ratio`` of the
   keys at least ``threshold`` (85); ``编码相同`` — equal code stems (code less region code, at least 6 characters)
   and a score of at least ``code_threshold`` (70).
3. **Guard rails** keep "same words, different matters" apart whatever the score: differing key verbs
   (新增/变更/注销/延续/调整…), distinguishing qualifiers (（预拨）/（清算）), actions (审批/备案) or objects — two
   objects may differ only by insertions of at most a third of the shorter one (内设机构 ≠ 机构设置, 数据 ≠
   好差评数据, but 政府投资项目可行性研究报告 = 政府投资项目可行研究报告). Rejected joins above
   ``threshold − 10`` are kept as ``NearMiss`` for the reviewer.
4. **Union-find with a cannot-link rule**: joins are applied best first; two clusters never merge when they hold
   rows of the same unit in the same region, because a unit lists a matter once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from xietong.catalog.dedup.normalise import NormalName, normalise_name, strip_region
from xietong.catalog.dedup.proposal import Evidence, Group, NearMiss, Proposal, code_stem, propose_base
from xietong.catalog.dedup.rows import RawRow

EXACT = "规范化名称相同"
SIMILAR = "名称相似"
SAME_CODE = "编码相同"
_RULE_ORDER = {EXACT: 0, SAME_CODE: 1, SIMILAR: 2}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class _Join:
    score: float
    rule: str
    a: int
    b: int


def group_matters(
    rows: Sequence[RawRow],
    *,
    regions: Iterable[str] = (),
    threshold: float = 85,
    code_threshold: float = 70,
    progress: Progress | None = None,
) -> Proposal:
    """Propose base matters for raw deployed rows; ``regions`` adds region names to strip from names."""
    region_names = tuple(regions)
    names = {
        row.number: normalise_name(row.name, unit_names=(row.unit_name, *row.unit_aliases), regions=region_names)
        for row in rows
    }
    blocks: dict[str, list[RawRow]] = defaultdict(list)
    for row in rows:
        blocks[row.function or "unit:" + strip_region(row.unit_name, regions=region_names)].append(row)
    joins: list[_Join] = []
    misses: list[NearMiss] = []
    for done, key in enumerate(sorted(blocks), start=1):
        block_joins, block_misses = _block_joins(blocks[key], names, threshold, code_threshold)
        joins += block_joins
        misses += block_misses
        if progress is not None:
            progress(done, len(blocks))
    root_of, accepted = _cluster(rows, joins)
    return _proposal(rows, names, root_of, accepted, misses)


# --- candidate joins within one block ---------------------------------------------------------------------------


def _block_joins(
    rows: list[RawRow], names: dict[int, NormalName], threshold: float, code_threshold: float
) -> tuple[list[_Join], list[NearMiss]]:
    classes: dict[tuple[str, tuple[str, ...]], list[RawRow]] = defaultdict(list)
    for row in rows:
        name = names[row.number]
        classes[(name.key, name.qualifiers)].append(row)
    joins = [
        _Join(100.0, EXACT, members[0].number, other.number) for members in classes.values() for other in members[1:]
    ]
    misses: list[NearMiss] = []
    keys = list(classes)
    leads = [members[0].number for members in classes.values()]
    index: dict[str, set[int]] = defaultdict(set)
    for i, (key, _) in enumerate(keys):
        for gram in _bigrams(key):
            index[gram].add(i)
    floor = threshold - 10
    for i, (key, _) in enumerate(keys):
        others = sorted({j for gram in _bigrams(key) for j in index[gram] if j > i})
        if not others:
            continue
        choices = [keys[j][0] for j in others]
        for _, score, position in process.extract(
            key, choices, scorer=fuzz.ratio, score_cutoff=floor, limit=None, processor=None
        ):
            j = others[position]
            a, b = names[leads[i]], names[leads[j]]
            reason = apart(a, b)
            if reason is None and score >= threshold:
                joins.append(_Join(round(score, 1), SIMILAR, leads[i], leads[j]))
            elif reason is not None:
                misses.append(NearMiss(leads[i], leads[j], round(score, 1), reason))
    joins += _code_joins(rows, names, code_threshold)
    return joins, misses


def _code_joins(rows: list[RawRow], names: dict[int, NormalName], code_threshold: float) -> list[_Join]:
    by_stem: dict[str, list[RawRow]] = defaultdict(list)
    for row in rows:
        stem = code_stem(row)
        if len(stem) >= 6:
            by_stem[stem].append(row)
    joins = []
    for members in by_stem.values():
        first = members[0]
        a = names[first.number]
        for other in members[1:]:
            b = names[other.number]
            if a.key == b.key and a.qualifiers == b.qualifiers:
                continue  # already an exact join
            score = fuzz.ratio(a.key, b.key)
            if score >= code_threshold and apart(a, b, strict_objects=False) is None:
                joins.append(_Join(round(score, 1), SAME_CODE, first.number, other.number))
    return joins


def _bigrams(key: str) -> set[str]:
    text = key.replace("|", "")
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def apart(a: NormalName, b: NormalName, *, strict_objects: bool = True) -> str | None:
    """The guard rail that keeps two names apart (a Chinese reason), or None when they may be one matter."""
    if a.key_verbs != b.key_verbs:
        return f"关键动作不同：{'、'.join(a.key_verbs) or '无'} / {'、'.join(b.key_verbs) or '无'}"
    if a.qualifiers != b.qualifiers:
        return f"限定语不同：{'、'.join(a.qualifiers) or '无'} / {'、'.join(b.qualifiers) or '无'}"
    if a.actions != b.actions:
        return f"办理动作不同：{'、'.join(a.actions) or '无'} / {'、'.join(b.actions) or '无'}"
    if strict_objects and not _objects_compatible(a.object_text, b.object_text):
        return f"对象不同：{a.object_text} / {b.object_text}"
    return None


def _objects_compatible(a: str, b: str) -> bool:
    """Equal, or one is the other with a few characters inserted (at most a third of the shorter)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    missing = Counter(short) - Counter(long)
    return not missing and len(long) - len(short) <= max(1, len(short) // 3)


# --- clustering ----------------------------------------------------------------------------------------------


def _cluster(rows: Sequence[RawRow], joins: list[_Join]) -> tuple[dict[int, int], dict[int, list[_Join]]]:
    """Union-find over the joins, best first, never putting two rows of one unit and region in one cluster.

    Returns each row's cluster root and the joins accepted into each cluster.
    """
    parent = {row.number: row.number for row in rows}
    members: dict[int, set[tuple[str, str]]] = {row.number: {(row.region_code, row.unit_ref)} for row in rows}
    accepted: dict[int, list[_Join]] = defaultdict(list)

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for join in sorted(joins, key=lambda j: (-j.score, _RULE_ORDER[j.rule], j.a, j.b)):
        ra, rb = root(join.a), root(join.b)
        if ra == rb or members[ra] & members[rb]:
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra] |= members.pop(rb)
        accepted[ra] += accepted.pop(rb, [])
        accepted[ra].append(join)
    return {row.number: root(row.number) for row in rows}, accepted


def _proposal(
    rows: Sequence[RawRow],
    names: dict[int, NormalName],
    root_of: dict[int, int],
    accepted: dict[int, list[_Join]],
    misses: list[NearMiss],
) -> Proposal:
    by_root: dict[int, list[RawRow]] = defaultdict(list)
    for row in rows:
        by_root[root_of[row.number]].append(row)
    ordered = sorted(by_root.items(), key=lambda item: (item[1][0].function or "", item[1][0].number))
    groups: list[Group] = []
    taken: set[str] = set()
    for group_id, (root, members) in enumerate(ordered, start=1):
        evidence = [Evidence(j.a, j.b, j.score, j.rule) for j in accepted.get(root, [])]
        base = propose_base(members, names, taken=taken)
        taken.add(base.code)
        groups.append(Group(group_id, members, evidence, base))
    group_of = {row.number: group.id for group in groups for row in group.rows}
    return Proposal(groups=groups, names=names, near_misses=_near_misses(misses, group_of))


def _near_misses(misses: list[NearMiss], group_of: dict[int, int]) -> list[NearMiss]:
    """The best near miss per pair of different groups."""
    best: dict[tuple[int, int], NearMiss] = {}
    for miss in misses:
        pair = tuple(sorted((group_of[miss.a], group_of[miss.b])))
        if pair[0] == pair[1]:
            continue
        key = (pair[0], pair[1])
        if key not in best or miss.score > best[key].score:
            best[key] = miss
    return sorted(best.values(), key=lambda m: (-m.score, m.a, m.b))
