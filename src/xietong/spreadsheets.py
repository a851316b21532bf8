"""Reading uploaded .xlsx files safely: one place for the zip-bomb guard, openpyxl's quirks and the errors.

Every import (units, people, the matter library, de-duplication lists) reads through ``read_workbook``
so a malformed or hostile file gets the same clear Chinese refusal, whatever part of it is broken.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO

from openpyxl import Workbook, load_workbook

from xietong.errors import InvalidInput

MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # a full 20,000-row sheet unpacks to a few MB; far more is a zip bomb
MAX_ENTRIES = 1_000


def unreadable() -> InvalidInput:
    return InvalidInput(
        code="import_file_unreadable",
        detail="无法读取该文件：请上传用 Excel 或 WPS 保存的 .xlsx 文件（不支持 .xls、.csv）",
    )


def check_archive(data: bytes, *, what: str) -> None:
    """Refuse an empty file, a non-zip, and one whose declared unpacked size is a zip bomb's."""
    if not data:
        raise InvalidInput(code="import_file_empty", detail="上传的文件是空的，请上传 .xlsx 格式的 Excel 文件")
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise unreadable() from exc
    # zipfile stops reading an entry at its declared size, so the declared sizes bound what unpacking costs.
    if len(entries) > MAX_ENTRIES or sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise InvalidInput(code="import_file_too_large", detail=f"文件解压后过大，不像是{what}，未导入")


@contextmanager
def read_workbook(data: bytes, *, what: str) -> Iterator[Workbook]:
    """The workbook, read-only; anything but our own ``InvalidInput`` raised while reading becomes ``unreadable``."""
    check_archive(data, what=what)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about features it drops (validation, styles): harmless
        try:
            workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # a malformed file raises anything from zipfile, the XML parser or openpyxl
            raise unreadable() from exc
        try:
            yield workbook
        except InvalidInput:
            raise
        except Exception as exc:  # read-only sheets are parsed lazily, so the same holds while reading rows
            raise unreadable() from exc
        finally:
            workbook.close()


def cell_text(value: object) -> str:
    """A cell as text: blank for empty, ``12`` (not ``12.0``) for whole numbers Excel stored as floats."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
