"""The one pagination scheme of every list: keyset cursors.

A list is ordered by (sort key, id). A page is ``limit`` rows after the position an opaque
``cursor`` names; the response carries ``next_cursor`` (absent on the last page) and, only when
asked for with ``with_total``, the total count — counting is the expensive part at a million rows.
Cursors stay valid while rows are added or removed, unlike page numbers with OFFSET.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_

from xietong.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    total: int | None = None


def encode_cursor(values: tuple[Any, ...]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    """Decode a cursor into values of the given kinds (``datetime`` values were written in ISO form)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError
        values: list[Any] = []
        for value, kind in zip(raw, kinds, strict=True):
            if value is None:
                values.append(None)
            elif kind is datetime:
                values.append(datetime.fromisoformat(value))
            elif isinstance(value, kind) and not isinstance(value, bool):
                values.append(value)
            else:
                raise ValueError
        return tuple(values)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput(code="bad_cursor", detail="分页游标无效，请从第一页重新开始") from exc


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(code="bad_limit", detail=f"每页条数须在 1 到 {MAX_LIMIT} 之间")
    return limit


def after(key: ColumnElement[Any], id_column: ColumnElement[Any], values: tuple[Any, Any], *, descending: bool
          ) -> ColumnElement[bool]:
    """Rows strictly after (key, id) in the list's order; NULL keys sort last in both directions."""
    key_value, id_value = values
    if key_value is None:  # already among the NULL keys: only ids remain
        return and_(key.is_(None), id_column < id_value if descending else id_column > id_value)
    if descending:
        return or_(key < key_value, and_(key == key_value, id_column < id_value), key.is_(None))
    return or_(key > key_value, and_(key == key_value, id_column > id_value), key.is_(None))


def ordered(query: Select[Any], key: ColumnElement[Any], id_column: ColumnElement[Any], *, descending: bool
            ) -> Select[Any]:
    if descending:
        return query.order_by(key.is_(None), key.desc(), id_column.desc())
    return query.order_by(key.is_(None), key.asc(), id_column.asc())
