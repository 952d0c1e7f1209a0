"""The search page in a real headless Chromium (Debian's chromium + chromedriver), all on loopback.

Skipped when chromium, chromedriver or selenium is missing, unless CI is set: then it fails.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from watcher.models import Announcement, Hit, Source
from watcher.store import KST, Store
from watcher.web import make_web_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run with CI set: {reason}")
    pytest.skip(reason)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - depends on the machine
    webdriver = None  # type: ignore[assignment]


class _Original(BaseHTTPRequestHandler):
    """Stands in for the public-call site an announcement links to."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = f"<!doctype html><html lang=ko><title>원문</title><h1 id=orig>원문 공고 {self.path}</h1>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _start(server: Any) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    original = ThreadingHTTPServer(("127.0.0.1", 0), _Original)
    _start(original)
    origin = f"http://127.0.0.1:{original.server_address[1]}"
    path = tmp_path_factory.mktemp("browser") / "w.db"
    store = Store(path)
    now = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
    items = {
        "ntis": [("z1", "2026년 강소특구 육성사업 공고", "2026-11-19T09:00:00+09:00", ["zones"]),
                 ("d1", "의료기기 실증 지원", "2026-11-18T09:00:00+09:00", [])],
        "bizinfo": [("z2", "규제자유특구 <b>추가</b> 지정", "2026-11-17T09:00:00+09:00", [])],
    }
    for source_id, rows in items.items():
        store.ingest(Source(id=source_id, url="https://x", name=source_id.upper()), [
            (Announcement(source_id, id_, title, f"{origin}/view/{id_}", published=published),
             [Hit(r, "#g", ("특구",)) for r in rules])
            for id_, title, published, rules in rows
        ], now, 0)
    store.close()
    web = make_web_server(path, "127.0.0.1", 0)
    _start(web)
    yield f"http://127.0.0.1:{web.server_address[1]}", origin
    web.shutdown()
    original.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if webdriver is None:
        _unavailable("selenium is not installed")
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(binary):
            _unavailable(f"{binary} not found (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def result_titles(driver: Any) -> list[str]:
    return [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "#results td.title a")]


def test_search_filter_and_follow_a_result(browser: Any, site: tuple[str, str]) -> None:
    base, origin = site
    browser.get(base + "/")
    assert browser.current_url == base + "/search?open=1&matched=1&sort=deadline"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ko"
    assert browser.find_element(By.ID, "matched").is_selected() and browser.find_element(By.ID, "open").is_selected()

    browser.get(base + "/search")
    box = browser.find_element(By.ID, "q")
    box.send_keys("특구")
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "results")))
    assert result_titles(browser) == ["2026년 강소특구 육성사업 공고", "규제자유특구 <b>추가</b> 지정"]
    assert browser.find_element(By.ID, "q").get_attribute("value") == "특구"

    Select(browser.find_element(By.ID, "source")).select_by_value("bizinfo")
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 10).until(lambda d: "source=bizinfo" in d.current_url)
    assert result_titles(browser) == ["규제자유특구 <b>추가</b> 지정"]
    assert browser.find_element(By.ID, "count").text == "총 1건 · 1–1"
    assert browser.find_elements(By.CSS_SELECTOR, "#results b") == []  # the title's markup stayed text

    browser.find_element(By.CSS_SELECTOR, "#results td.title a").click()
    WebDriverWait(browser, 10).until(ec.url_to_be(f"{origin}/view/z2"))
    assert browser.find_element(By.ID, "orig").text == "원문 공고 /view/z2"


def test_rule_filter_and_open_checkbox(browser: Any, site: tuple[str, str]) -> None:
    base, _ = site
    browser.get(base + "/search?q=%ED%8A%B9%EA%B5%AC&rule=zones")
    assert result_titles(browser) == ["2026년 강소특구 육성사업 공고"]
    assert Select(browser.find_element(By.ID, "rule")).first_selected_option.text == "zones"
    browser.find_element(By.ID, "open").click()
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 10).until(lambda d: "open=1" in d.current_url)
    assert browser.find_element(By.ID, "count").text == "총 1건 · 1–1"  # no deadline: open-ended, kept
    browser.find_element(By.ID, "undated").click()
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 10).until(lambda d: "undated=0" in d.current_url and "undated=1" not in d.current_url)
    assert browser.find_element(By.ID, "count").text == "총 0건"


def test_page_works_without_javascript_errors(browser: Any, site: tuple[str, str]) -> None:
    base, _ = site
    browser.get(base + "/search?q=" + "%22" * 3)
    assert browser.find_element(By.ID, "count").text == "총 3건 · 1–3"
    assert [entry for entry in browser.get_log("browser") if entry.get("level") == "SEVERE"] == []


# ---- layout at desktop and phone sizes, over the 120-match desk --------------------------------

SIZES = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
LAYOUT_JS = """
const doc = document.documentElement;
const lines = el => el.getClientRects().length;
const wrapped = [...document.querySelectorAll('.date, .dday')].filter(el => lines(el) !== 1)
  .map(el => el.textContent);
const split = [...document.querySelectorAll('td.deadline')].filter(td => {
  const d = td.querySelector('.date'), k = td.querySelector('.dday');
  return d && k && Math.abs(d.getBoundingClientRect().top - k.getBoundingClientRect().top) > 2;
}).map(td => td.textContent);
const wide = [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > doc.clientWidth + 1).map(el => el.tagName + '.' + el.className);
const row = document.querySelector('#results tbody tr, table.status tbody tr');
return {scroll: doc.scrollWidth, client: doc.clientWidth, inner: window.innerWidth, wrapped, split,
        wide: wide.slice(0, 5), rowDisplay: row ? getComputedStyle(row).display : null,
        wordBreak: getComputedStyle(document.body).wordBreak};
"""


@pytest.fixture(scope="module")
def desk_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.desk_data import fill_desk, write_config
    from watcher.config.load import load_config

    folder = tmp_path_factory.mktemp("desk-browser")
    fill_desk(folder / "w.db", datetime.now(KST))
    web = make_web_server(folder / "w.db", "127.0.0.1", 0, config=load_config(*write_config(folder)))
    _start(web)
    yield f"http://127.0.0.1:{web.server_address[1]}"
    web.shutdown()


def _screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("WATCHER_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", ["/", "/search?q=의료기기&agency=보건복지부", "/status"])
def test_layout_keeps_words_and_dates_whole_without_overflow(browser: Any, desk_site: str, size: str, path: str,
                                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    width, height, mobile = SIZES[size]
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    try:
        browser.get(desk_site + path)
        found = browser.execute_script(LAYOUT_JS)
        name = {"/": "soon", "/status": "status"}.get(path, "search")
        shot = _screenshot_dir(tmp_path_factory) / f"{name}-{size}-{width}x{height}.png"
        shot.write_bytes(browser.get_screenshot_as_png())
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert found["inner"] == width and found["client"] <= width
    assert found["scroll"] <= found["client"], (found["wide"], shot)
    assert found["wrapped"] == [] and found["split"] == [], shot
    assert found["wordBreak"] == "keep-all"
    assert found["rowDisplay"] == ("block" if mobile else "table-row")
