"""Schemathesis over the whole OpenAPI document, over real HTTP, as people of several roles and as an
application client: no answer is a 5xx, and every answer — a refusal included — matches what the document says
(status, content type, body schema, headers).

An anonymous pass proves little (almost everything answers 401), so each identity carries a bearer token: a
clerk and a handler of one county, its system administrator, the city's security and audit administrators, the
reform office and an application client with every scope. The pass is bounded (``XIETONG_FUZZ_EXAMPLES`` examples
per operation and identity, 2 by default, which keeps it near a minute per database); set it higher for a deep run.
It runs against a database of its own, because the generated calls really do change things.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.core.failures import FailureGroup
from sqlalchemy import Engine

from tests.conftest import own_database
from tests.factories import City, joint_approval_process, make_city, publish_matter
from tests.web.browser import free_port, served
from xietong.config import Settings
from xietong.dataservice.clients import issue_access_token, register_client
from xietong.dataservice.scopes import SCOPES
from xietong.db import migrate
from xietong.db.base import utcnow
from xietong.db.engine import create_db_engine
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.security.auth import issue_token
from xietong.security.models import RoleGrant
from xietong.security.principal import SYSTEM_PRINCIPAL
from xietong.web.app import create_app

pytestmark = [pytest.mark.committed, pytest.mark.slow]

EXAMPLES = int(os.environ.get("XIETONG_FUZZ_EXAMPLES", "2"))
# What "answers as the document says" means. Not ``positive_data_acceptance``: a 422 for data the schema allows is
# right when a domain rule refuses it (延期 of more than the law's days, a person's unit that is not theirs).
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]
# Calls that would end the identity's own access for the rest of the pass; each is tested on its own elsewhere.
SELF_ENDING = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/auth/tokens/{token_id}")}


@dataclass
class Fuzzed:
    url: str
    tokens: dict[str, str]  # identity → bearer token


def _grantee(session: Any, city: City, name: str, role: str, scope: str) -> Person:
    person = Person(employee_code=f"F-{name}-{city.region.code}", username=f"fz_{name}_{city.region.code}", name=name)
    session.add(person)
    session.flush()
    session.add(RoleGrant(person_id=person.id, role=role, scope_kind=scope,
                          scope_region_id=city.region.id if scope == "region" else None))
    return person


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    with own_database("fuzz", tmp) as url:
        # the demo's stand-ins (messaging for 免登, the OIDC provider…) are mounted on this very server, so it
        # must know its port: an outside system it cannot reach would answer 503, which is no finding
        port = free_port()
        app_settings = Settings(database_url=url, data_dir=tmp / "data", demo=True, port=port,
                                secret_key="fuzz-secret-key-that-is-long-enough-0123456789")
        engine: Engine = create_db_engine(app_settings)
        migrate.upgrade(engine)
        now = utcnow()
        with unit_of_work(engine) as session:
            city, _other = make_city(session), make_city(session)
            publish_matter(session, city, joint_approval_process())
            people = {
                "clerk": city.people["finance.clerk.0"],
                "handler": city.people["staffing.clerk.0"],
                "system_admin": _grantee(session, city, "sysadmin", "system_admin", "region"),
                "security_admin": _grantee(session, city, "secadmin", "security_admin", "all"),
                "audit_admin": _grantee(session, city, "auditor", "audit_admin", "all"),
                "reform_office": _grantee(session, city, "reform", "reform_office", "all"),
            }
            tokens = {key: issue_token(session, person_id=person.id, name="fuzz", now=now).secret
                      for key, person in people.items()}
            registered = register_client(session, principal=SYSTEM_PRINCIPAL, name="模糊测试", scopes=list(SCOPES),
                                         unit_ids=[city.units["finance"].id], rate_limit_per_minute=100_000, now=now)
            tokens["client"] = issue_access_token(session, client_id=registered.client.client_id,
                                                  client_secret=registered.secret, scope=None, now=now).token
        app = create_app(app_settings)
        try:
            with served(app, port) as base:
                yield Fuzzed(base, tokens)
        finally:
            app.state.engine.dispose()
            engine.dispose()


@pytest.mark.parametrize("identity", ["clerk", "handler", "system_admin", "security_admin", "audit_admin",
                                      "reform_office", "client"])
def test_every_operation_answers_as_the_document_says(fuzzed: Fuzzed, identity: str) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")
    headers = {"Authorization": f"Bearer {fuzzed.tokens[identity]}"}
    failures: list[str] = []
    tried = 0
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) in SELF_ENDING:
                continue

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def call(case: schemathesis.Case) -> None:
                try:
                    case.call_and_validate(session=http, headers=headers, timeout=30, checks=CHECKS)
                except FailureGroup as failure:  # every problem of one answer, with the call to reproduce it
                    failures.append(f"{case.operation.method.upper()} {case.operation.path}: {failure}\n"
                                    f"{case.as_curl_command(headers=headers)}")

            with contextlib.suppress(Unsatisfiable):  # the document allows no example here: nothing to call
                call()
            tried += 1
    assert tried > 100  # the document really was walked
    assert not failures, f"{len(failures)} answers differ from the document:\n\n" + "\n\n".join(failures[:20])
