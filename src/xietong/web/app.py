"""Application factory: ``create_app(settings)`` wires the database, errors and routes; nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from xietong import __version__
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.db.session import unit_of_work
from xietong.errors import DomainError, Unavailable
from xietong.integrations.outbound import outbound_options
from xietong.standins import with_demo_standins
from xietong.system.health import production_refusals, readiness
from xietong.system.secret import instance_secret
from xietong.web.api import api_router
from xietong.web.idempotency import IdempotencyMiddleware
from xietong.web.metrics import Metrics
from xietong.web.middleware import RequestMiddleware
from xietong.web.openapi import describe_problems
from xietong.web.pages import install_pages
from xietong.web.pages.errors import pages_or
from xietong.web.problems import (
    database_error_handler,
    domain_error_handler,
    http_error_handler,
    overflow_error_handler,
    unexpected_error_handler,
    validation_error_handler,
)
from xietong.worker.loop import checkpoint_duty, housekeeping_duty, start_in_thread

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
        extra = (checkpoint_duty(app.state.secret_key), housekeeping_duty(settings.delivery_history_days))
        worker = start_in_thread(engine, extra=extra, outbound=outbound_options(app.state.settings)) \
            if settings.run_worker_in_process else None
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
    if settings.demo:  # the demo's outside systems are local stand-ins served by this very server
        settings = with_demo_standins(app, settings)
    app.state.settings, app.state.engine = settings, engine
    app.state.metrics = metrics = Metrics(engine)
    schema_head = migrate.head_revision(engine)
    # Outermost last: every response, an idempotent replay included, gets the request id and security headers.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(RequestMiddleware, settings=settings, metrics=metrics)
    # Page requests get Chinese HTML (log-in redirect, 403/404 pages); the API keeps problem+json.
    app.add_exception_handler(DomainError, pages_or(domain_error_handler))
    app.add_exception_handler(RequestValidationError, pages_or(validation_error_handler))
    app.add_exception_handler(StarletteHTTPException, pages_or(http_error_handler))
    app.add_exception_handler(Exception, unexpected_error_handler)
    app.add_exception_handler(DBAPIError, database_error_handler)  # the database away: 503, not a crash
    app.add_exception_handler(OverflowError, overflow_error_handler)  # an id beyond 64 bits: 422
    app.include_router(api_router)
    describe_problems(app)

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

    install_pages(app, timezone=settings.timezone)

    return app
