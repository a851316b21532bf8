"""What an uploaded file really is: the allowed formats, and detection from content, never from the name.

Detection, in order (``detect_format``):

* ``PK`` zip signature → the archive's central directory is read (at most ``MAX_ZIP_ENTRIES`` entries,
  counted from the end record before ``zipfile`` builds anything): ``[Content_Types].xml`` makes it an OOXML
  file, told apart by the content type of its main part (docx: ``wordprocessingml.document.main+xml``,
  xlsx: ``spreadsheetml.sheet.main+xml``; macro-enabled parts or a ``vbaProject`` are refused, other OOXML
  kinds — pptx, templates — are not allowed); ``OFD.xml`` at the root makes it OFD (GB/T 33190); an ODF
  ``mimetype`` entry is not allowed; anything else is a plain zip.
* OLE2 compound file (legacy Office) → the directory entries are looked up by name, at their 128-byte
  alignment: ``WordDocument`` is doc, ``Workbook``/``Book`` is xls, and a VBA project is refused. Other
  compound files (ppt, msi installers…) are not allowed. Without a full OLE2 parser this is a careful
  heuristic; ``olefile`` would make it exact.
* everything else → the ``filetype`` library on the first 8 KiB: pdf, jpg and png are allowed; anything it
  recognises otherwise (exe, elf, gif…) is not.
* nothing recognised → the one plain-text format, **txt**, and only when the file name says .txt: the whole
  file must decode strictly as UTF-8 (BOM allowed) or else GB18030, hold no NUL or control character other
  than tab, line feed, form feed and carriage return, and must not open with ``<`` (HTML, SVG or XML renamed
  to .txt is refused, so nothing a browser might render as markup is stored as text).

The name's extension must name the detected format (jpeg counts as jpg), so a renamed file is refused.
"""

from __future__ import annotations

import codecs
import mmap
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import filetype

from xietong.errors import FieldProblem, InvalidInput

DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive with entries, an empty archive
HEAD_BYTES = 8192  # what filetype looks at
MAX_ZIP_ENTRIES = 10_000
MAX_CONTENT_TYPES_BYTES = 1024 * 1024
MAX_NAME_HITS = 10_000  # a crafted file full of misaligned entry names costs bounded time
_CONTENT_TYPE_RE = re.compile(rb"""ContentType\s*=\s*["']([^"']+)["']""")
_CONTROL_RE = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_OLE_FORMATS = {"WordDocument": "doc", "Workbook": "xls", "Book": "xls"}
_OLE_MACROS = ("_VBA_PROJECT", "_VBA_PROJECT_CUR", "Macros")
_FILETYPE_FORMATS = {"pdf": "pdf", "jpg": "jpg", "png": "png"}


@dataclass(frozen=True)
class FileFormat:
    """An allowed format: its name (as matter materials list it), the type it is served as, its extensions."""

    name: str
    content_type: str
    extensions: tuple[str, ...]
    label: str


FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in (
        FileFormat("pdf", "application/pdf", ("pdf",), "PDF 文档"),
        FileFormat("ofd", "application/ofd", ("ofd",), "OFD 版式文档"),
        FileFormat("jpg", "image/jpeg", ("jpg", "jpeg"), "JPEG 图片"),
        FileFormat("png", "image/png", ("png",), "PNG 图片"),
        FileFormat(
            "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",), "Word 文档"
        ),
        FileFormat(
            "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",), "Excel 表格"
        ),
        FileFormat("doc", "application/msword", ("doc",), "Word 97-2003 文档"),
        FileFormat("xls", "application/vnd.ms-excel", ("xls",), "Excel 97-2003 表格"),
        FileFormat("zip", "application/zip", ("zip",), "ZIP 压缩包"),
        FileFormat("txt", "text/plain", ("txt",), "纯文本"),
    )
}
FORMAT_BY_EXTENSION = {ext: f.name for f in FORMATS.values() for ext in f.extensions}
_FORMAT_BY_TYPE = {f.content_type: f.name for f in FORMATS.values()}


@dataclass(frozen=True)
class Detected:
    """The detected format and the exact Content-Type to store and serve (text carries its charset)."""

    format: str
    content_type: str


def format_of(content_type: str) -> str | None:
    """The allowed format a stored Content-Type stands for (``image/jpeg`` → ``jpg``), or None."""
    return _FORMAT_BY_TYPE.get(content_type.split(";", 1)[0].strip().lower())


def allowed_extensions() -> str:
    return "、".join(sorted(FORMAT_BY_EXTENSION))


def detect_format(path: Path, head: bytes, expected: str) -> Detected:
    """The format of the file at ``path`` (``head`` = its first bytes); refused unless it is ``expected``."""
    if head.startswith(ZIP_MAGICS):
        found = {_zip_format(path)}
    elif head.startswith(OLE_MAGIC):
        found = _ole_formats(path)
    else:
        kind = filetype.guess(head[:HEAD_BYTES])
        if kind is not None:
            fmt = _FILETYPE_FORMATS.get(kind.extension)
            if fmt is None:
                raise refusal("file_type_not_allowed", f"文件内容是 {kind.extension} 格式，不在允许的类型之内")
            found = {fmt}
        elif expected == "txt":
            return Detected("txt", f"text/plain; charset={_text_charset(path)}")
        else:
            raise refusal("file_content_unknown", f"无法识别文件内容，它不像是{FORMATS[expected].label}")
    if expected not in found:
        shown = "、".join(FORMATS[f].label for f in sorted(found))
        raise refusal("file_content_mismatch", f"文件扩展名与内容不符：扩展名是 .{expected}，内容却是{shown}")
    return Detected(expected, FORMATS[expected].content_type)


def refusal(code: str, message: str) -> InvalidInput:
    """An upload refused for what it is (reported against the ``file`` field)."""
    return InvalidInput(code=code, detail=message, errors=[FieldProblem("file", message, code)])


def _zip_format(path: Path) -> str:
    _check_zip_entries(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" in names:
                return _ooxml_format(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
        raise _corrupt() from exc
    except (RuntimeError, NotImplementedError) as exc:  # encrypted entries, unknown compression
        raise refusal("file_encrypted", "压缩文件已加密或使用了不支持的压缩方式，无法检查其内容") from exc
    if "OFD.xml" in names:
        return "ofd"
    if "mimetype" in names:
        raise refusal("file_type_not_allowed", "不接受 OpenDocument（odt、ods）文件，请另存为 docx、xlsx 或 pdf")
    return "zip"


def _check_zip_entries(path: Path) -> None:
    """Refuse archives with too many entries before zipfile builds an object for each of them."""
    with path.open("rb") as file:
        size = file.seek(0, 2)
        file.seek(max(0, size - 65_557))  # the end record (22 bytes) plus the longest comment
        tail = file.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise _corrupt()
    if int.from_bytes(tail[at + 10 : at + 12], "little") > MAX_ZIP_ENTRIES:  # 0xFFFF (zip64) included
        raise refusal("file_too_many_entries", f"压缩文件内的条目超过 {MAX_ZIP_ENTRIES} 个，不予接收")


def _ooxml_format(archive: zipfile.ZipFile) -> str:
    info = archive.getinfo("[Content_Types].xml")
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        raise _corrupt()
    types = {value.decode("ascii", "replace").lower() for value in _CONTENT_TYPE_RE.findall(archive.read(info))}
    if any("macroenabled" in t or "vbaproject" in t for t in types):
        raise _macros()
    if DOCX_MAIN in types:
        return "docx"
    if XLSX_MAIN in types:
        return "xlsx"
    raise refusal("file_type_not_allowed", "只接受 docx 和 xlsx 格式的 Office 文件（不接受 pptx、模板等）")


def _ole_formats(path: Path) -> set[str]:
    names = _ole_entry_names(path, [*_OLE_FORMATS, *_OLE_MACROS])
    if names & set(_OLE_MACROS):
        raise _macros()
    found = {_OLE_FORMATS[name] for name in names}
    if not found:
        raise refusal("file_type_not_allowed", "无法识别的 Office 97-2003 文件（只接受 doc 和 xls）")
    return found


def _ole_entry_names(path: Path, wanted: list[str]) -> set[str]:
    """Which of ``wanted`` name a directory entry: UTF-16LE name at a 128-byte boundary, its length, type 1|2."""
    found: set[str] = set()
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for name in wanted:
            needle = (name + "\0").encode("utf-16-le")
            at, hits = data.find(needle, 512), 0
            while at >= 0 and name not in found and hits < MAX_NAME_HITS:
                hits += 1
                entry = data[at : at + 68]
                size_matches = entry[64:66] == len(needle).to_bytes(2, "little")
                if at % 128 == 0 and len(entry) == 68 and size_matches and entry[66] in (1, 2):
                    found.add(name)
                at = data.find(needle, at + 1)
    return found


def _text_charset(path: Path) -> str:
    """utf-8 or gb18030 when the file is plain text that cannot pass for markup; refused otherwise."""
    for charset in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(charset)()
        first = b""
        try:
            with path.open("rb") as file:
                while chunk := file.read(65_536):
                    if _CONTROL_RE.search(chunk):
                        raise refusal("file_not_text", "文件含有控制字符，不是纯文本文件")
                    first = first or chunk.removeprefix(codecs.BOM_UTF8).lstrip()
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if first.startswith(b"<"):
            raise refusal("file_markup", "文本文件看起来是网页或标记文件（以 < 开头），不予接收")
        return charset
    raise refusal("file_not_text", "文本文件的编码无法识别，请保存为 UTF-8 或 GBK 编码")


def _corrupt() -> InvalidInput:
    return refusal("file_unreadable", "文件已损坏或格式不完整，无法读取")


def _macros() -> InvalidInput:
    return refusal("file_has_macros", "文件包含宏代码，出于安全考虑不予接收；请另存为不含宏的文档后再上传")
