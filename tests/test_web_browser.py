"""`archive serve` in a subprocess, driven in Debian's Chromium by Playwright, on the demo archive
(real letters, PDFs, moties of one dossier, an Aanhangsel, a scanned page), plus a hostile archive
for escaping. Screenshots go to $ARCHIVE_SCREENSHOTS (default: the test's tmp folder)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from archive import Archive
from archive.web.app import create_app

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
AXE = REPO / "build" / "node" / "node_modules" / "axe-core" / "axe.min.js"
QUESTION = "Wat doet de werkgever voor de veiligheid van ambtenaren?"
HOSTILE_TEXT = """Ministerie van Testzaken

Datum 3 maart 2024
Kenmerk 2024-0000000001
Betreft <script>alert(1)</script> en " onerror="alert(2)

Geachte voorzitter,

Deze brief bevat <script>alert(1)</script> en een attribuut " onerror="alert(3)" x=" en <b>vet</b>.
Ook <img src=x onerror=alert(4)> staat erin, als tekst.

Hoogachtend,
de minister
"""
HOSTILE_NAME = "<img src=x onerror=alert(1)>.txt"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) is in the test extra")
expect = sync_api.expect


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(archive: Path) -> Iterator[str]:
    """Run `archive serve` on a free loopback port until the fixture ends; yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from archive.cli import cli; cli()", "serve", "-a", str(archive), "--port", str(port)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"archive serve did not start: {process.stderr.read()}")
            time.sleep(0.2)
    try:
        yield base
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        assert process.wait(timeout=20) in (0, -signal.SIGINT)  # uvicorn re-raises the signal after shutdown
        assert "Traceback" not in process.stderr.read()


@pytest.fixture(scope="module")
def server(demo_path: Path) -> Iterator[str]:
    yield from serve(demo_path)


@pytest.fixture(scope="module")
def hostile_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / HOSTILE_NAME).write_text(HOSTILE_TEXT, encoding="utf-8")
    shutil.copy(REPO / "corpus" / "brief-financien-2022-04-13.txt", folder)
    path = tmp_path_factory.mktemp("hostile-archive")
    with Archive.open(path, create=True) as archive:
        report = archive.ingest([folder])
    assert report.ok, report.failed
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver (make test does)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-default-apps"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("ARCHIVE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def card_titles(page: object) -> list[str]:
    return page.locator(".card h3 a").all_inner_texts()


def search(page: object, base: str, query: str) -> None:
    page.goto(base + "/")
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/search\?"))
    page.wait_for_selector(".card")


def test_search_a_question_then_narrow_by_facet_and_date(page: object, server: str, shots: Path) -> None:
    search(page, server, QUESTION)
    assert "<mark>" in page.inner_html(".card blockquote")
    page.screenshot(path=str(shots / "search.png"), full_page=True)
    before = card_titles(page)
    page.fill("#from", "2024")
    page.press("#from", "Enter")
    page.wait_for_url(re.compile(r"from=2024"))
    expect(page.locator(".card").first).to_be_visible()
    dates = page.locator(".card time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert dates and all(d >= "2024" for d in dates)
    facet = page.locator("aside.facets section", has_text="Soort document").locator("a").first
    chosen = facet.locator("span").first.inner_text()
    facet.click()
    page.wait_for_url(re.compile(r"type="))
    expect(page.locator("aside.facets a[aria-current]")).to_have_count(1)
    metas = page.locator(".card .meta").all_inner_texts()
    assert metas and all(chosen in meta for meta in metas)
    assert "from=2024" in page.url and "q=" in page.url
    page.go_back()
    page.go_back()
    expect(page.locator(".card h3 a")).to_have_text(before)
    assert page.input_value("#from") == ""


def test_pdf_links_open_the_original_at_the_page(page: object, server: str) -> None:
    search(page, server, "emissies van de luchtvaart")
    link = page.locator(".card .pages a[href*='/original#page=']").first
    href = link.get_attribute("href")
    key, number = re.fullmatch(r"/documents/([^/]+)/original#page=(\d+)", href).groups()
    first = page.request.get(server + "/api/search?q=emissies+van+de+luchtvaart&per_doc=1&k=1").json()["hits"][0]
    assert (key, int(number)) == (first["document"], first["page_start"])
    response = page.request.get(server + href.split("#")[0])
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"


def test_document_page_and_a_related_letter(page: object, server: str, shots: Path) -> None:
    page.goto(server + "/documents/motie-32637-544")
    assert page.locator("h1").inner_text()
    citation = page.input_value("#citaat")
    assert citation.startswith("Kamerstukken II 2022/23, 32 637, nr. 544")
    page.screenshot(path=str(shots / "document.png"), full_page=True)
    timeline = page.locator("aside.related section", has_text="Tijdlijn van het dossier").locator("li a")
    assert timeline.count() >= 2
    target = timeline.first.get_attribute("href")
    timeline.first.click()
    page.wait_for_url(re.compile(re.escape(target) + "$"))
    assert page.locator("#p1").count() == 1
    assert page.input_value("#citaat").startswith("Kamerstukken II 2022/23, 32 637, nr.")


def test_a_shared_link_shows_the_same_results(page: object, browser: object, server: str) -> None:
    search(page, server, "brede welvaart en ondernemers")
    page.select_option("#sort", "date")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"sort=date"))
    page.wait_for_selector(".card")
    shared, titles = page.url, card_titles(page)
    other = browser.new_context().new_page()
    other.goto(shared)
    assert card_titles(other) == titles and other.input_value("#q") == "brede welvaart en ondernemers"
    assert other.locator("#sort").input_value() == "date"
    other.context.close()


def test_keyboard_only(page: object, server: str) -> None:
    page.goto(server + "/")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector(".card")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.card') && document.activeElement.tagName === 'A'"):
            break
    href = page.evaluate("document.activeElement.getAttribute('href')")
    assert href.startswith("/documents/")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/documents/"))
    page.keyboard.press("/")  # no search box on a document page: nothing happens, nothing breaks
    page.goto(server + "/search?q=brief")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"


@pytest.mark.parametrize("path", ["/search?q=Wat+doet+de+werkgever+voor+de+veiligheid+van+ambtenaren%3F",
                                  "/documents/motie-32637-544", "/documents/aanhangsel-tk-20232024-1314", "/"])
def test_axe_finds_no_serious_violations(browser: object, server: str, path: str) -> None:
    context = browser.new_context(bypass_csp=True)  # axe is injected as a script the page's CSP would refuse
    page = context.new_page()
    page.goto(server + path)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})")
    context.close()
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, bad


def test_hostile_text_and_file_names_are_shown_as_text(hostile_path: Path, browser: object) -> None:
    with Archive.open(hostile_path, create=False) as archive:
        client = TestClient(create_app(archive))
        key = next(d.key for d in archive.store.documents() if d.path.endswith(HOSTILE_NAME))
        sources = [client.get("/search", params={"q": "alert script onerror"}).text,
                   client.get(f"/documents/{key}").text]
        for html in sources:
            assert "<script>alert" not in html and "<img src=x" not in html and '" onerror=' not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(1)&gt;.txt" in sources[1]
    base_iter = serve(hostile_path)
    base = next(base_iter)
    try:
        context = browser.new_context()
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(base + "/search?q=alert+script+onerror")
        page.wait_for_selector(".card")
        page.goto(base + f"/documents/{key}")
        assert "<script>alert(1)</script>" in page.inner_text("main")
        assert "<img src=x onerror=alert(1)>.txt" in page.inner_text("main")
        page.wait_for_timeout(300)
        assert dialogs == []
        context.close()
    finally:
        base_iter.close()
