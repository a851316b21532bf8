"""Uploads over HTTP with the database store, and a real full disk answering 507 in Chinese."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.faults.fullfs import files_under, tiny_tmpfs
from tests.web.conftest import PASSWORD, Api
from xietong.config import Settings
from xietong.web.app import create_app


def _client(api: Api, settings: Settings) -> TestClient:
    client = TestClient(create_app(settings))
    person = api.city.person("finance", "clerk", 0)
    login = client.post("/api/v1/auth/login", json={"username": person.username, "password": PASSWORD})
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client


def test_the_database_store_serves_what_another_process_stored(api: Api, settings: Settings, tmp_path: Path) -> None:
    """Two apps with different data directories (two hosts) share files through the database."""
    one = _client(api, settings.model_copy(update={"data_dir": tmp_path / "one", "blob_store": "database"}))
    two = _client(api, settings.model_copy(update={"data_dir": tmp_path / "two", "blob_store": "database"}))
    data = "另一台主机上传的说明\n".encode() * 10
    uploaded = one.post("/api/v1/attachments", files={"file": ("说明.txt", data, "text/plain")})
    assert uploaded.status_code == 201, uploaded.text
    download = two.get(f"/api/v1/attachments/{uploaded.json()['id']}")
    assert download.status_code == 200 and download.content == data
    assert files_under(tmp_path) == []
    for client in (one, two):
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"), reason="mounting a tmpfs needs root")
def test_a_full_disk_answers_507_with_a_chinese_problem(api: Api, settings: Settings, tmp_path: Path) -> None:
    with tiny_tmpfs(tmp_path / "small", size_kib=32) as small:
        client = _client(api, settings.model_copy(update={"data_dir": small, "blob_store": "local"}))
        big = "材料内容".encode() * 10_000
        response = client.post("/api/v1/attachments", files={"file": ("材料.txt", big, "text/plain")})
        assert response.status_code == 507
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "storage_full" and body["title"] == "存储空间不足" and "未保存" in body["detail"]
        assert files_under(small) == []
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
