"""Application factory: ``create_app(settings)`` wires the database, errors and routes; nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from xietong import __version__
from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.db.session import read_only, unit_of_work
from xietong.directory.models import Person, Unit
from xietong.errors import DomainError, Unavailable
from xietong.system.health import production_refusals, readiness
from xietong.system.secret import instance_secret
from xietong.web.api import api_router
from xietong.web.idempotency import IdempotencyMiddleware
from xietong.web.metrics import Metrics
from xietong.web.middleware import RequestMiddleware
from xietong.web.problems import (
    domain_error_handler,
    http_error_handler,
    unexpected_error_handler,
    validation_error_handler,
)
from xietong.worker.loop import checkpoint_duty, start_in_thread

API_DESCRIPTION = (
    "机关内部协同办事平台 API。错误以 application/problem+json 返回；列表统一使用游标分页（见 docs/api.md）。"
)


class OutdatedSchema(RuntimeError):
    """The database schema is behind the code: run ``xietong db upgrade``."""


class UnsafeProduction(RuntimeError):
    """Outside demo mode the app will not start with demo accounts, demo data or a placeholder secret."""


def create_app(settings: Settings) -> FastAPI:
    engine = create_db_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current, head = migrate.schema_status(engine)
        if current != head:
            raise OutdatedSchema(f"数据库结构版本为 {current}，程序需要 {head}：请先运行 `xietong db upgrade`")
        with unit_of_work(engine) as session:
            refusals = production_refusals(settings, session)
            if refusals:
                raise UnsafeProduction("生产模式拒绝启动：" + "；".join(refusals))
            app.state.secret_key = instance_secret(session, settings.secret_key)
        extra = (checkpoint_duty(app.state.secret_key),)
        worker = start_in_thread(engine, extra=extra) if settings.run_worker_in_process else None
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
    app.state.metrics = metrics = Metrics(engine)
    schema_head = migrate.head_revision(engine)
    # Outermost last: every response, an idempotent replay included, gets the request id and security headers.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(RequestMiddleware, settings=settings, metrics=metrics)
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
    app.include_router(api_router)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", summary="就绪检查：数据库可连接且结构为最新，否则 503")
    def readyz() -> JSONResponse:
        failed = [check for check in readiness(engine, schema_head) if not check.ok]
        if failed:
            raise Unavailable(code="not_ready", detail="；".join(f"{c.name}：{c.detail}" for c in failed))
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse)
    def landing(request: Request) -> HTMLResponse:
        with read_only(request.app.state.engine) as session:
            counts = {label: session.scalar(select(func.count()).select_from(model)) or 0
                      for label, model in (("单位", Unit), ("人员", Person), ("事项", LocalMatter), ("办件", Case))}
        items = "".join(f"<li>{label}：{n}</li>" for label, n in counts.items())
        return HTMLResponse(f"<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>协同</title>"
                            f"<h1>xietong 协同 · 机关内部协同办事平台</h1><ul>{items}</ul></html>")

    return app
