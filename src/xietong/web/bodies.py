"""Request bodies refuse the fields they do not know.

Pydantic ignores unknown fields by default, so a program that misspells one — ``attachment_ids`` for
``materials``, say — would have its case filed without its files and never know. Every JSON body of the API is a
``RequestBody``: an unknown field is a 422 naming it (``不认识的字段``), like any other problem of the body.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
