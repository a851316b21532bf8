"""共享材料库 in a real browser at a desktop and a phone size: upload a standing document with the keyboard, see
its versions, then apply with it linked by default — nothing scrolls sideways at 375 px. Screenshots go to
docs/screenshots/ as ``<viewport>-shared-materials*.png``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.factories import joint_approval_process, publish_matter
from tests.web.browser import VIEWPORTS
from tests.web.conftest import Api
from tests.web.test_pages_admin_browser import _login, _shot
from xietong.db.session import unit_of_work
from xietong.demo.samples import pdf_bytes

pytestmark = [pytest.mark.committed, pytest.mark.slow]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_keep_a_document_and_apply_with_it(api: Api, db_engine: Engine, base: str, browser: Any, viewport: str,
                                           tmp_path: Path) -> None:
    kind = f"浏览器证照{uuid.uuid4().hex[:6]}"
    file = tmp_path / "证照.pdf"
    file.write_bytes(pdf_bytes("browser"))
    page = _login(browser, base, viewport, api.city.person("finance", "clerk", 1))
    page.goto(base + "/account")
    with page.expect_navigation():
        page.click("#shared-materials-link")
    page.focus("#kind-other")
    page.keyboard.type(kind)
    page.set_input_files("#file", str(file))
    page.fill("#valid-until", "2099-12-31")
    page.focus("#shared-upload button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "已上传新版本" in page.locator("main").inner_text()
    assert "版本 1：证照.pdf" in page.locator("#versions").inner_text()
    _shot(page, viewport, "shared-materials")

    materials = [{"code": "M1", "name": "单位证照", "required": True, "formats": ["pdf"], "shared_kind": kind}]
    with unit_of_work(db_engine) as session:
        matter_id = publish_matter(session, api.city, joint_approval_process(), materials=materials).id
    page.goto(f"{base}/matters/{matter_id}/apply")
    offer = page.locator("#shared-M1")
    assert f"已在库：{kind}" in offer.inner_text() and page.is_checked("#use-M1")
    page.focus("#use-M1")
    page.keyboard.press("Space")  # the keyboard unticks it…
    assert not page.is_checked("#use-M1")
    page.keyboard.press("Space")  # …and ticks it again
    _shot(page, viewport, "shared-materials-apply")
    page.fill("#f-title", "浏览器里引用共享材料")
    with page.expect_navigation():
        page.click("button[name=step][value=review]")
    with page.expect_navigation():
        page.click("button.primary[type=submit]")
    assert "共享材料库 · " + kind in page.locator("#files-title + *").inner_text()
    page.context.close()
