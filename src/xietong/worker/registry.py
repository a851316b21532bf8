"""The one way a domain registers a worker handler under a name (an outbox topic, a timer kind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

H = TypeVar("H", bound=Callable[..., object])


def registrar(handlers: dict[str, H], name: str, what: str) -> Callable[[H], H]:
    """A decorator putting its handler into ``handlers[name]``; a second, different handler is an error."""

    def register(handler: H) -> H:
        if handlers.get(name, handler) is not handler:
            raise ValueError(f"{what} {name!r} already has a handler")
        handlers[name] = handler
        return handler

    return register
