"""A generated raw list of deployed matters the size of the reference (≈3,200 rows over 11 regions), seeded.

The truth is the demo catalogue (``xietong.demo.catalogue``): every implementation of a base matter becomes a
raw row, and some city matters are also deployed by counties (市县同事项). Each row's name is a realistic variant
of its base matter's name — region prefixes, 的, bracketed qualifiers, synonyms (some the normaliser does not
know), word order, widths and spaces, a dropped character, the unit's name in front. Codes follow each region's
habit: some reuse the catalogue code, others number their own. The true grouping (row number → base matter code)
is returned apart (``GeneratedList.truth``) and written to its own file; the deduper never sees it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from xietong.catalog.dedup.rows import KIND_NAMES, RawRow
from xietong.demo import names as n
from xietong.demo.catalogue import Implementation, Matter, build_catalogue
from xietong.demo.city import City, build_city

HEADER = [
    "事项名称", "事项编码", "实施主体", "实施主体编码", "统一社会信用代码",
    "行政区划代码", "法定时限", "承诺时限", "事项类型",
]  # fmt: skip
#: The generator's own variant table (deliberately not the normaliser's): some pairs it knows, some not.
VARIANTS: dict[str, tuple[str, ...]] = {
    "拨付": ("拨款", "下拨"),
    "备案": ("报备",),
    "审批": ("批准", "审批"),
    "核查": ("核实", "核验"),
    "可行性研究": ("可研",),
    "公务用车": ("公车", "公务车辆"),
    "调配": ("调剂",),
    "延期": ("续期", "延续"),
    "变更": ("更改",),
    "申领": ("申请",),
    "人力资源和社会保障": ("人社",),
    "申报": ("申请",),
    "资金": ("经费",),
}
#: Variants the normaliser's table does not know, used rarely: rows written so are expected to be missed.
UNKNOWN_VARIANTS: dict[str, tuple[str, ...]] = {"协调": ("协商",), "审核": ("审查",), "查阅": ("查看",)}
NOISE_QUALIFIERS = ("县级", "{region}", "试行", "县级权限", "本级")
ACTION_ENDINGS = (
    "审批",
    "审核",
    "审查",
    "核准",
    "核定",
    "备案",
    "拨付",
    "使用",
    "协调",
    "查阅",
    "调配",
    "申请",
    "登记",
)
EXTRA_CITY_SHARE = 0.25  # city matters that counties also deploy


@dataclass(frozen=True)
class GeneratedList:
    rows: list[RawRow]
    truth: dict[int, str]  # row number → base matter code; never given to the deduper
    directory: dict[str, tuple[str, str]]  # USCC → (function, short name): what the directory knows


def generate(seed: int = 2026) -> GeneratedList:
    """The raw list and its true grouping, deterministic for a seed."""
    rng = random.Random(f"xietong-dedup-{seed}")
    city = build_city()
    catalogue = build_catalogue(city)
    deployments = [(m, i) for m in catalogue.matters for i in m.implementations]
    deployments += _county_copies(city, catalogue.city_matters(), rng)
    habits = {r.code: rng.choice(("reuse", "own", "own", "mixed")) for r in city.regions}
    serials: dict[tuple[str, str], int] = {}
    rng.shuffle(deployments)
    deployments.sort(key=lambda item: item[1].region_code)  # a list is regions' lists one after another
    rows: list[RawRow] = []
    truth: dict[int, str] = {}
    for number, (matter, impl) in enumerate(deployments, start=2):
        unit = city.unit(impl.unit_key)
        region = city.region(impl.region_code)
        serial = serials[(region.code, matter.function)] = serials.get((region.code, matter.function), 0) + 1
        rows.append(
            RawRow(
                number=number,
                name=_variant(matter.name, region.name, unit.short_name, impl.region_code == n.CITY_CODE, rng),
                code=_code(matter, impl, habits[region.code], serial, rng),
                unit_name=unit.name,
                unit_code=unit.key if rng.random() < 0.5 else "",
                uscc=unit.uscc or "",
                region_code=impl.region_code,
                kind=matter.kind,
                legal_limit_days=matter.legal_limit_days,
                promised_limit_days=impl.promised_limit_days,
            )
        )
        truth[number] = matter.code
    directory = {u.uscc: (u.function, u.short_name) for u in city.departments() if u.uscc and u.function}
    return GeneratedList(rows, truth, directory)


def _county_copies(city: City, matters: list[Matter], rng: random.Random) -> list[tuple[Matter, Implementation]]:
    counties = [r.code for r in city.regions if r.level == "county"]
    copies = []
    for matter in matters:
        if rng.random() >= EXTRA_CITY_SHARE:
            continue
        having = [code for code in counties if matter.function in city.functions_by_region[code]]
        if not having:
            continue
        for region in rng.sample(having, max(1, round(len(having) * rng.uniform(0.4, 1.0)))):
            key = f"{region}.{matter.function}"
            copies.append((matter, Implementation(f"{matter.code}-{region}", matter.code, matter.name, region, key, 1)))
    return copies


def _code(matter: Matter, impl: Implementation, habit: str, serial: int, rng: random.Random) -> str:
    if impl.region_code == n.CITY_CODE:
        return matter.code
    abbr = n.FUNCTIONS[matter.function].abbr
    if habit == "reuse" or (habit == "mixed" and rng.random() < 0.5):
        return f"{matter.code}-{impl.region_code}"
    return f"{impl.region_code}{abbr}{serial:03d}"


def _variant(name: str, region: str, unit: str, is_city: bool, rng: random.Random) -> str:
    """A realistic rewrite of a base matter name, as a region's own list would have it."""
    if is_city and rng.random() < 0.7:
        return name
    body, _, qualifier = name.partition("（")
    qualifier = f"（{qualifier}" if qualifier else ""
    if rng.random() < 0.3:
        body = _synonyms(body, rng)
    if rng.random() < 0.15:
        body = _reorder(body)
    if rng.random() < 0.15:
        body = _de(body)
    if rng.random() < 0.04 and len(body) >= 10:
        body = _drop_char(body, rng)
    if rng.random() < 0.05:
        body += rng.choice(("事项", "办理"))
    name = body + qualifier
    if rng.random() < 0.2:
        noise = rng.choice(NOISE_QUALIFIERS).format(region=region)
        name += rng.choice((f"（{noise}）", f"({noise})", f"【{noise}】"))
    if rng.random() < 0.3:
        name = region + name
    elif rng.random() < 0.05:
        name = unit + name
    if rng.random() < 0.1:
        name = name.replace("（", "(").replace("）", ")")
    if rng.random() < 0.05:
        cut = rng.randrange(1, len(name))
        name = name[:cut] + " " + name[cut:]
    return name


def _synonyms(body: str, rng: random.Random) -> str:
    table = UNKNOWN_VARIANTS if rng.random() < 0.1 else VARIANTS
    for word, options in table.items():
        if word in body and rng.random() < 0.6:
            body = body.replace(word, rng.choice(options))
    return body


def _reorder(body: str) -> str:
    """拨付专项资金 for 专项资金拨付; 场地和会议室使用 for 会议室及场地使用."""
    for ending in ACTION_ENDINGS:
        if body.endswith(ending) and len(body) > len(ending) + 1:
            head = body[: -len(ending)]
            if "及" in head:
                left, _, right = head.partition("及")
                return f"{right}和{left}{ending}"
            return ending + head
    return body


def _de(body: str) -> str:
    for ending in ACTION_ENDINGS:
        if body.endswith(ending) and len(body) > len(ending) + 1:
            return body[: -len(ending)] + "的" + ending
    return body


def _drop_char(body: str, rng: random.Random) -> str:
    i = rng.randrange(2, len(body) - 3)
    return body[:i] + body[i + 1 :]


def write_list(rows: list[RawRow], path: Path) -> Path:
    """The raw list as the .xlsx a region would send (only what the deduper may read)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("事项清单")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(
            [row.name, row.code, row.unit_name, row.unit_code, row.uscc, row.region_code,
             row.legal_limit_days, row.promised_limit_days, KIND_NAMES[row.kind]]
        )  # fmt: skip
    book.save(path)
    return path


def write_truth(truth: dict[int, str], path: Path) -> Path:
    """The true grouping, in a file of its own."""
    path.write_text(json.dumps({str(k): v for k, v in sorted(truth.items())}, ensure_ascii=False), encoding="utf-8")
    return path


def read_truth(path: Path) -> dict[int, str]:
    return {int(k): v for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
