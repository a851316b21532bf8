"""Application factory: ``create_app(settings)`` wires the database, errors and routes; nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from xietong import __version__
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.db.session import unit_of_work
from xietong.errors import DomainError
from xietong.system.secret import instance_secret
from xietong.web.api import api_router
from xietong.web.pages import install_pages
from xietong.web.pages.errors import pages_or
from xietong.web.problems import (
    domain_error_handler,
    http_error_handler,
    unexpected_error_handler,
    validation_error_handler,
)
from xietong.worker.loop import start_in_thread

API_DESCRIPTION = (
    "机关内部协同办事平台 API。错误以 application/problem+json 返回；列表统一使用游标分页（见 docs/api.md）。"
)


class OutdatedSchema(RuntimeError):
    """The database schema is behind the code: run ``xietong db upgrade``."""


def create_app(settings: Settings) -> FastAPI:
    engine = create_db_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current, head = migrate.schema_status(engine)
        if current != head:
            raise OutdatedSchema(f"数据库结构版本为 {current}，程序需要 {head}：请先运行 `xietong db upgrade`")
        with unit_of_work(engine) as session:
            app.state.secret_key = instance_secret(session, settings.secret_key)
        worker = start_in_thread(engine) if settings.run_worker_in_process else None
        yield
        if worker is not None:
            thread, stop = worker
            stop.set()
            thread.join(timeout=5)
        engine.dispose()

    app = FastAPI(
        title="xietong 协同",
        version=__version__,
        lifespan=lifespan,
        description=API_DESCRIPTION,
    )
    app.state.settings, app.state.engine = settings, engine
    # Page requests get Chinese HTML (log-in redirect, 403/404 pages); the API keeps problem+json.
    app.add_exception_handler(DomainError, pages_or(domain_error_handler))
    app.add_exception_handler(RequestValidationError, pages_or(validation_error_handler))
    app.add_exception_handler(StarletteHTTPException, pages_or(http_error_handler))
    app.add_exception_handler(Exception, unexpected_error_handler)
    app.include_router(api_router)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    install_pages(app, timezone=settings.timezone)

    return app
