"""The web page in a real browser: Debian's chromium driven by Playwright, against
`search serve`'s application run by uvicorn in a thread, on the index of tests/test_web.py.

`.ci/run` installs chromium with apt-get (Playwright's own browser download is not
available here); without it these tests skip and say so. A screenshot of a results page
is left in tests/output/ for review (not committed).
"""

import shutil
import threading
from pathlib import Path

import pytest
import uvicorn

from search.backend import WhooshBackend
from search.index import rebuild
from search.web import create_app
from tests.conftest import SEEDS, write_export
from tests.test_web import RECORDS

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).parent / "output"

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not "
                               "installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"Debian's chromium is not installed ({CHROMIUM}): `apt-get install -y chromium`, "
           "as .ci/run does")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The page's URL, served by uvicorn in a thread on a free port."""
    folder = tmp_path_factory.mktemp("browser") / "corpus"
    shutil.copytree(SEEDS, folder)
    write_export(folder / "export.jsonl", RECORDS)
    rebuild([folder], folder.parent / "index")
    config = uvicorn.Config(create_app(WhooshBackend(folder.parent / "index")),
                            host="127.0.0.1", port=0, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        if not thread.is_alive():
            pytest.fail("uvicorn did not start")
        threading.Event().wait(0.05)
    port = running.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: the tests run as root, where Chromium's sandbox cannot start
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server, accept_downloads=True, locale="fr-FR")
    opened = context.new_page()
    dialogs = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    opened.dialogs = dialogs
    yield opened
    assert dialogs == []  # no script of an article ever ran
    context.close()


def search_for(page, words: str) -> None:
    box = page.get_by_role("searchbox", name="Rechercher")
    box.fill(words)
    box.press("Enter")
    page.wait_for_load_state()


@pytest.mark.parametrize("words", ["cooperation", "coopération", "COOPERATION"])
def test_query_with_and_without_accents(page, words):
    page.goto("/")
    search_for(page, words)
    expect = sync_api.expect
    expect(page.locator("#bilan")).to_contain_text("5 articles correspondent")
    expect(page.locator(".hit-list mark").first).to_have_text("coopération")
    assert page.locator(".hit-list > li").count() == 4  # the copy shown once


def test_results_page_screenshot(page):
    page.goto("/?q=ministre")
    sync_api.expect(page.locator(".chart svg")).to_be_visible()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "results.png", full_page=True)
    assert (OUTPUT / "results.png").stat().st_size > 0


def test_keyboard_alone(page):
    """The box has the focus on arrival; Enter searches; Tab reaches a hit; Enter opens it."""
    page.goto("/")
    expect = sync_api.expect
    expect(page.locator(":focus")).to_have_attribute("id", "q")
    page.keyboard.type("Tachkent")
    page.keyboard.press("Enter")
    expect(page.locator("#bilan")).to_have_text("1 article correspond à « Tachkent ».")
    first_hit = page.locator(".hit h3 a").first
    for _ in range(40):
        page.keyboard.press("Tab")
        if first_hit.evaluate("link => link === document.activeElement"):
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Le président du Mazhilis")


def test_facet_then_date_preset(page):
    page.goto("/?q=ministre")
    page.get_by_role("complementary", name="Affiner").get_by_role("link", name="afrique").click()
    expect = sync_api.expect
    assert "category=afrique" in page.url
    expect(page.locator("#bilan")).to_contain_text("1 article correspond à « ministre »")
    expect(page.get_by_role("textbox", name="Rubrique", exact=True)).to_have_value("afrique")
    page.get_by_role("navigation", name="Période").get_by_role("link", name="30 jours").click()
    assert "since=30d" in page.url and "category=afrique" in page.url
    expect(page.get_by_role("list", name="Filtres appliqués")).to_contain_text("depuis : 30d")
    expect(page.locator("#bilan")).to_have_text("Aucun article ne correspond à « ministre ».")


def test_open_an_article(page):
    page.goto("/?q=Tachkent")
    page.locator(".hit h3 a").first.click()
    expect = sync_api.expect
    expect(page.get_by_role("heading", level=1)).to_contain_text("Le président du Mazhilis")
    expect(page.locator(".body mark").first).to_have_text("Tachkent")
    page.get_by_role("link", name="← Revenir aux résultats").click()
    expect(page.locator("#bilan")).to_have_text("1 article correspond à « Tachkent ».")


def test_download_the_csv(page):
    page.goto("/?q=cooperation")
    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter les 5 résultats en CSV").click()
    assert download.value.suggested_filename == "recherche.csv"
    lines = Path(download.value.path()).read_text("utf-8").splitlines()
    assert lines[0] == "id,date,source,category,title,url,score"
    assert len(lines) == 6


def test_query_error_in_the_page(page):
    page.goto("/")
    search_for(page, '"Union interparlementaire')
    sync_api.expect(page.get_by_role("alert")).to_contain_text(
        "Unbalanced quote: close the phrase with another \".")
    sync_api.expect(page.get_by_role("searchbox", name="Rechercher")).to_have_value(
        '"Union interparlementaire')


def test_hostile_article_is_text(page):
    page.goto("/")
    search_for(page, "piège")
    expect = sync_api.expect
    expect(page.locator(".hit h3")).to_have_text("<script>alert(1)</script> Piège")
    page.locator(".hit h3 a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("<script>alert(1)</script> Piège")
    expect(page.locator(".unlinked")).to_have_text("javascript:alert(1)")
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.locator("main img, main script").count() == 0
