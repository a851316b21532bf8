"""四性检测 (DA/T 70): the four checks of an archive package, on its bytes alone.

* 真实性 authenticity — the manifest's SM2 signature verifies; every item's SM3 is the manifest's; the
  metadata agrees with the package (档号, 件数, 事件数, the last event hash); the event log's hash chain
  recomputes; every sealed document's seal verifies;
* 完整性 integrity — every manifest item is present and nothing unlisted is; the sequence numbers run 1…n
  without gaps; the required items are there (metadata, event log, opinions, approval sheet, and a result
  document for a concluded case); the event log's seq runs 1…N without gaps;
* 可用性 usability — every format is allowed (PDF, XML, JSON) and readable: PDFs open and have pages, XML and
  JSON parse;
* 安全性 security — no executable content: no PDF JavaScript, launch actions or embedded files, no program
  or script files whatever their name, no paths that leave the package, no encrypted entries, no zip bomb.

Each check lists its items with ``passed`` and a Chinese ``detail``; the package passes when all four do.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from defusedxml import ElementTree
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from xietong.cases.events import Actor, event_hash
from xietong.db.base import utcnow
from xietong.integrations.archive.package import MANIFEST, NS, REPORT, SIGNATURE
from xietong.integrations.seal import envelope, sm2

ALLOWED = {"pdf": b"%PDF-", "xml": b"<?xml", "json": None}
MAX_UNPACKED = 512 * 1024 * 1024
PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|EmbeddedFiles|RichMedia|XFA|SubmitForm|ImportData)\b")
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
EXECUTABLE = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"PK\x03\x04")
CHECKS = {"authenticity": "真实性", "integrity": "完整性", "usability": "可用性", "security": "安全性"}


class _Report:
    def __init__(self) -> None:
        self.checks: dict[str, list[dict[str, Any]]] = {name: [] for name in CHECKS}

    def add(self, check: str, name: str, passed: bool, detail: str = "") -> bool:
        self.checks[check].append({"name": name, "passed": passed, "detail": detail})
        return passed

    def result(self, package: bytes, at: datetime, code: str | None) -> dict[str, Any]:
        checks = {name: {"label": CHECKS[name], "passed": all(i["passed"] for i in items), "items": items}
                  for name, items in self.checks.items()}
        return {"archival_code": code, "package_sm3": sm2.sm3(package), "checked_at": at.isoformat(),
                "standard": "DA/T 70-2018", "passed": all(c["passed"] for c in checks.values()), "checks": checks}


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def four_checks(package: bytes, *, now: datetime | None = None) -> dict[str, Any]:
    """The 四性检测 report of a package file."""
    report = _Report()
    at = now or utcnow()
    try:
        archive = zipfile.ZipFile(io.BytesIO(package))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        report.add("usability", "档案信息包可读", False, f"不是可读的 ZIP 文件：{exc}")
        for check in ("authenticity", "integrity", "security"):
            report.add(check, "档案信息包可读", False, "无法打开信息包")
        return report.result(package, at, None)
    if not _security_of_entries(report, infos):
        return report.result(package, at, None)
    files = {info.filename: archive.read(info) for info in infos if not info.is_dir()}
    manifest_raw = files.get(MANIFEST)
    if manifest_raw is None:
        report.add("integrity", "清单存在", False, "缺少 manifest.xml")
        report.add("authenticity", "清单签名", False, "缺少清单，无法核对")
        return report.result(package, at, None)
    try:
        manifest = ElementTree.fromstring(manifest_raw)
        entries = [dict(e.attrib) for e in manifest.iter(_q("条目"))]
        code = manifest.get("档号")
    except Exception as exc:  # defusedxml refuses entities and DTDs with its own errors
        report.add("usability", "清单可解析", False, f"manifest.xml 无法解析：{exc}")
        return report.result(package, at, None)
    _authenticity(report, files, manifest_raw, entries, code)
    _integrity(report, files, entries)
    _usability(report, files, entries)
    _security_of_content(report, files)
    return report.result(package, at, code)


def _security_of_entries(report: _Report, infos: list[zipfile.ZipInfo]) -> bool:
    safe = True
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.split("/") or "\\" in name or ":" in name:
            safe = report.add("security", "路径安全", False, f"{name}：路径指向信息包之外")
        if info.flag_bits & 0x1:
            safe = report.add("security", "无加密条目", False, f"{name}：条目被加密，无法检测")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            safe = report.add("security", "无符号链接", False, f"{name}：符号链接")
    total = sum(info.file_size for info in infos)
    if total > MAX_UNPACKED:
        safe = report.add("security", "解压大小", False, f"解压后 {total} 字节，超过上限")
    if safe:
        report.add("security", "信息包结构安全", True, f"{len(infos)} 个条目，路径、加密与大小均正常")
    return safe


def _authenticity(report: _Report, files: dict[str, bytes], manifest_raw: bytes, entries: list[dict[str, str]],
                  code: str | None) -> None:
    try:
        signature = json.loads(files[SIGNATURE])
        problems = envelope.verify_signature(signature, manifest_raw)
    except (KeyError, ValueError) as exc:
        problems = [f"缺少或无法读取清单签名：{exc}"]
    report.add("authenticity", "清单签名", not problems,
               "；".join(problems) or "清单的 SM2 签名验证通过（" + _seal_name(files) + "）")
    for entry in entries:
        data = files.get(entry.get("路径", ""))
        if data is not None:
            ok = sm2.sm3(data) == entry.get("SM3") and str(len(data)) == entry.get("大小")
            report.add("authenticity", f"{entry.get('路径')} 摘要", ok,
                       "SM3 与清单一致" if ok else "SM3 或大小与清单不符：内容已被改动")
    _metadata_agrees(report, files, entries, code)
    _event_chain(report, files)
    for path, data in sorted(files.items()):
        if path.endswith(".pdf") and b"/Type /XTSeal" in data:
            checked = envelope.verify_file(data)
            report.add("authenticity", f"{path} 电子签章", checked.ok,
                       "；".join(checked.problems) or "电子签章验证通过")


def _seal_name(files: dict[str, bytes]) -> str:
    try:
        return str(json.loads(files[SIGNATURE])["toSign"]["eseal"]["property"]["name"])
    except (KeyError, ValueError, TypeError):
        return "?"


def _metadata_agrees(report: _Report, files: dict[str, bytes], entries: list[dict[str, str]],
                     code: str | None) -> None:
    try:
        entity = ElementTree.fromstring(files["metadata.xml"]).find(_q("档案实体"))
        assert entity is not None
        field: Callable[[str], str] = lambda tag: (entity.findtext(_q(tag)) or "")  # noqa: E731
        events = json.loads(files["events.json"])
    except Exception:  # a missing or unreadable item is integrity's and usability's finding
        report.add("authenticity", "元数据与信息包一致", False, "元数据或事件日志缺失、无法读取")
        return
    problems = []
    if field("档号") != code:
        problems.append("元数据的档号与清单不符")
    if field("件数") != str(len(entries)):
        problems.append(f"元数据记 {field('件数')} 件，清单列 {len(entries)} 件")
    if field("事件数") != str(len(events)):
        problems.append(f"元数据记 {field('事件数')} 个事件，事件日志有 {len(events)} 个")
    if events and field("末事件摘要") != events[-1].get("hash"):
        problems.append("元数据的末事件摘要与事件日志不符")
    report.add("authenticity", "元数据与信息包一致", not problems,
               "；".join(problems) or "档号、件数、事件数、末事件摘要一致")


def _event_chain(report: _Report, files: dict[str, bytes]) -> None:
    try:
        events = json.loads(files["events.json"])
        broken = None
        prev = None
        for e in events:
            actor = Actor(e["actor"][0], e["actor"][1], e["actor"][2])
            digest = event_hash(e["prev_hash"], case_id=e["case_id"], seq=e["seq"], type=e["type"], actor=actor,
                                at=datetime.fromisoformat(e["at"]), delta=e["delta"])
            if digest != e["hash"] or (prev is not None and e["prev_hash"] != prev):
                broken = e["seq"]
                break
            prev = e["hash"]
    except Exception as exc:  # unreadable or incomplete records: the chain cannot be recomputed
        report.add("authenticity", "事件日志哈希链", False, f"事件日志无法核对：{exc}")
        return
    report.add("authenticity", "事件日志哈希链", broken is None,
               f"第 {broken} 个事件的哈希与记录不符" if broken is not None
               else f"{len(events)} 个事件的 SM3 哈希链复算一致")


def _integrity(report: _Report, files: dict[str, bytes], entries: list[dict[str, str]]) -> None:
    listed = {e.get("路径", "") for e in entries}
    missing = sorted(listed - set(files))
    report.add("integrity", "清单所列条目齐全", not missing,
               f"缺少：{'、'.join(missing)}" if missing else f"{len(listed)} 项齐全")
    extra = sorted(set(files) - listed - {MANIFEST, SIGNATURE, REPORT})
    report.add("integrity", "无清单外条目", not extra, f"清单外的条目：{'、'.join(extra)}" if extra else "无")
    numbers = [e.get("序号", "") for e in entries]
    expected = [str(n) for n in range(1, len(entries) + 1)]
    report.add("integrity", "序号连续", numbers == expected,
               f"序号 1…{len(entries)} 连续无缺" if numbers == expected else f"序号不连续：{'、'.join(numbers)}")
    kinds = {e.get("类型") for e in entries}
    required = {"元数据", "事件日志", "意见", "审批单"}
    try:
        meta = ElementTree.fromstring(files["metadata.xml"]).find(_q("档案实体"))
        concluded = meta is not None and bool(meta.findtext(_q("办理结果")))
    except Exception:
        concluded = False
    if concluded:
        required.add("文书")
    lacking = sorted(required - kinds)
    report.add("integrity", "必备条目", not lacking,
               f"缺少：{'、'.join(lacking)}" if lacking else "元数据、文书、意见、审批单、事件日志俱全")
    try:
        seqs = [e["seq"] for e in json.loads(files["events.json"])]
        ok = seqs == list(range(1, len(seqs) + 1))
        report.add("integrity", "事件序号连续", ok, f"事件 1…{len(seqs)} 连续" if ok else "事件序号有缺")
    except Exception:
        report.add("integrity", "事件序号连续", False, "事件日志缺失或无法读取")


def _usability(report: _Report, files: dict[str, bytes], entries: list[dict[str, str]]) -> None:
    for entry in entries:
        path, fmt = entry.get("路径", ""), entry.get("格式", "")
        data = files.get(path)
        if data is None:
            continue
        if fmt not in ALLOWED or not path.endswith("." + fmt):
            report.add("usability", f"{path} 格式", False, f"格式 {fmt} 不在允许范围（PDF、XML、JSON）")
            continue
        magic = ALLOWED[fmt]
        if magic is not None and not data.startswith(magic):
            report.add("usability", f"{path} 格式", False, f"内容不是 {fmt.upper()}")
            continue
        report.add("usability", f"{path} 可读", *_readable(fmt, data))


def _readable(fmt: str, data: bytes) -> tuple[bool, str]:
    try:
        if fmt == "pdf":
            pages = len(PdfReader(io.BytesIO(data), strict=False).pages)
            return pages > 0, f"PDF，{pages} 页"
        if fmt == "xml":
            ElementTree.fromstring(data)
            return True, "XML 可解析"
        json.loads(data)
        return True, "JSON 可解析"
    except (PdfReadError, ValueError, Exception) as exc:  # any reader failure means unreadable
        return False, f"无法读取：{type(exc).__name__}"


def _security_of_content(report: _Report, files: dict[str, bytes]) -> None:
    flagged = []
    for path, data in sorted(files.items()):
        if data.startswith(EXECUTABLE):
            flagged.append(f"{path}：可执行程序或嵌套压缩包")
        elif path.endswith(".pdf") and (active := _pdf_active(data)) is not None:
            flagged.append(f"{path}：含脚本、启动动作或嵌入文件（{active}）")
    report.add("security", "无可执行内容", not flagged, "；".join(flagged) or "无脚本、宏、可执行程序或嵌入文件")


def _pdf_active(data: bytes) -> str | None:
    """The first active-content key of a PDF's objects, or None.

    Looked for in the object dictionaries and in compressed object streams (where a PDF 1.5 file keeps
    dictionaries too) — never in the bytes of ordinary streams: the compressed data of an image, a font or a
    signature hold any three bytes by chance, and "/JS" followed by a non-word byte turned up there about once in
    a few hundred sealed documents, refusing a sound package. An object stream that does not inflate cannot be
    checked, and says so."""
    outside, position = [], 0
    for stream in _STREAM.finditer(data):
        head = data[position:stream.start()]
        outside.append(head)
        if b"/ObjStm" in head[head.rfind(b" obj"):]:
            try:
                outside.append(zlib.decompressobj().decompress(stream[1]))
            except zlib.error:
                return "无法检查的对象流"
        position = stream.end()
    outside.append(data[position:])
    found = PDF_ACTIVE.search(b"\n".join(outside))
    return found[1].decode() if found else None
