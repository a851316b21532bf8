"""Who uploaded an attachment: a person or an application client, in two columns so that a client's id is never
read as a person's."""

from __future__ import annotations

from typing import Any

from xietong.security.principal import Principal


def uploader(principal: Principal) -> dict[str, int | None]:
    """The columns naming who uploads: a person, or an application client — never a client id as a person's."""
    if principal.kind == "client":
        return {"uploaded_by_id": None, "uploaded_by_client_id": principal.id}
    return {"uploaded_by_id": principal.id, "uploaded_by_client_id": None}


def uploaded_by(row: Any, principal: Principal) -> bool:
    """Whether ``row`` (an attachment, or a row with its two uploader columns) is ``principal``'s upload."""
    if principal.kind == "client":
        return principal.id is not None and row.uploaded_by_client_id == principal.id
    return principal.kind == "person" and principal.id is not None and row.uploaded_by_id == principal.id
