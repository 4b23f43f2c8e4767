"""The search page as a person uses it: real headless Chromium (Debian's package, driven by
Selenium) against the real server. Screenshots go to test-output/web/."""

import base64
import csv
import io
import json
import os
import shutil
import subprocess
from urllib.parse import parse_qs, urlparse

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import BATTERY, BATTERY_QUESTION, OUTPUT, QUESTION, running_server
from qa.reading import read_records

WAIT_S = 120  # the server's first question also warms the model up
PACKAGES = ["chromium", "chromium-driver"]


def _installed() -> tuple[str, str] | None:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def _install_chromium() -> tuple[str, str]:
    """Debian's chromium and its matching driver: found, or installed with apt-get, or a skip
    saying why not."""
    if found := _installed():
        return found
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip(f"no chromium/chromedriver, and no root apt-get to install {' '.join(PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"could not install {' '.join(PACKAGES)}: {' '.join(command)} failed: {last}")
    if found := _installed():
        return found
    pytest.skip(f"{' '.join(PACKAGES)} installed, but chromium or chromedriver is not on PATH")


@pytest.fixture(scope="module")
def browser():
    binary, driver_path = _install_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=en-US",
                     "--window-size=1200,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, server, request):
    """The browser at the search page, at desktop width; a screenshot of the end state is saved."""
    browser.set_window_size(1200, 1000)
    browser.get(f"{server}/")
    yield browser
    screenshot(browser, request.node.name)


def screenshot(browser, name: str) -> None:
    """Saves what the browser shows in test-output/web/NAME.png, and forgets any API key given."""
    OUTPUT.joinpath("web").mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(OUTPUT / "web" / f"{name}.png"))
    browser.execute_script("sessionStorage.clear()")


def wait_for_status(browser, words: str) -> str:
    WebDriverWait(browser, WAIT_S).until(shown.text_to_be_present_in_element((By.ID, "status"), words))
    return browser.find_element(By.ID, "status").text


def results(browser) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "#passages > li")


def article_ids(browser) -> list[str]:
    return [parse_qs(urlparse(a.get_attribute("href")).query)["id"][0]
            for a in browser.find_elements(By.CSS_SELECTOR, "#passages > li > h3 a")]


def ask(browser, question: str) -> None:
    """Types the question into the box the page focused, and presses Enter."""
    box = browser.switch_to.active_element
    assert box.get_attribute("id") == "q", "the question box has the focus when the page opens"
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(question, Keys.ENTER)


SHOWN = "artikel untuk"  # the status line once results are shown: "Hasil 1–5 dari 5 artikel untuk “…”."


def test_a_typed_question_shows_the_answering_article_first(page):
    ask(page, QUESTION)
    status = wait_for_status(page, SHOWN)
    assert status == f"Hasil 1–5 dari 5 artikel untuk “{QUESTION}”."
    answer = page.find_element(By.ID, "answer").text
    assert "12,37 juta tenaga kerja" in answer and "Menurut kumparan (15 November 2024)" in answer
    first = results(page)[0]
    assert "kumparan · 15 November 2024 · membahas 2024" in first.find_element(By.CLASS_NAME, "meta").text
    # The answer's words are marked in their own colour; the question's words in another.
    answer_marks = [m.text for m in first.find_elements(By.CSS_SELECTOR, "mark.answer")]
    word_marks = [m.text for m in first.find_elements(By.CSS_SELECTOR, "mark:not(.answer)")]
    assert answer_marks == ["12,37 juta tenaga kerja"] and "IKM" in word_marks
    colour = "return getComputedStyle(arguments[0]).backgroundColor"
    assert page.execute_script(colour, first.find_element(By.CSS_SELECTOR, "mark.answer")) != page.execute_script(
        colour, first.find_elements(By.CSS_SELECTOR, "mark:not(.answer)")[0])
    ids = article_ids(page)
    assert len(ids) == len(set(ids)) == 5, "one card per article"
    assert "q=" in page.current_url  # the search is in the address: bookmarkable, back button works


def test_a_snippet_expands_to_the_whole_passage(page):
    ask(page, QUESTION)
    wait_for_status(page, SHOWN)
    card = results(page)[0]
    snippet = card.find_element(By.CSS_SELECTOR, ".passage .text").text
    toggle = card.find_element(By.CSS_SELECTOR, ".passage button.link")
    assert toggle.get_attribute("aria-expanded") == "false" and snippet.endswith("…")
    toggle.send_keys(Keys.ENTER)
    whole = card.find_element(By.CSS_SELECTOR, ".passage .text").text
    assert toggle.get_attribute("aria-expanded") == "true" and len(whole) > len(snippet)
    assert whole.startswith("Kementerian Perindustrian (Kemenperin) mencatat")


def test_source_and_date_filters(page):
    WebDriverWait(page, WAIT_S).until(lambda b: b.find_elements(By.CSS_SELECTOR, "input[name=sources]"))
    assert "Berita terindeks terbit 10 Agustus 2022 sampai 15 November 2024." in page.find_element(By.ID, "date-range").text
    republika = page.find_element(By.CSS_SELECTOR, "input[name=sources][value=Republika]")
    republika.send_keys(Keys.SPACE)  # checkboxes toggle from the keyboard
    page.find_element(By.ID, "q").click()
    ask(page, QUESTION)
    wait_for_status(page, SHOWN)
    assert parse_qs(urlparse(page.current_url).query)["sources"] == ["Republika"]
    metas = [r.find_element(By.CLASS_NAME, "meta").text for r in results(page)]
    assert metas and all(m.startswith("Republika · ") for m in metas)

    # Dates after Republika's only article (2022): nothing matches, and the page says so.
    page.find_element(By.ID, "from").send_keys("01012024")  # typed as mm/dd/yyyy in the en-US locale
    page.find_element(By.ID, "q").send_keys(Keys.ENTER)
    status = wait_for_status(page, "Tidak ada berita")
    assert "hapus saringan" in status and not results(page)
    assert parse_qs(urlparse(page.current_url).query)["date_from"] == ["2024-01-01"]


def test_keyboard_alone_opens_the_full_article(page):
    ask(page, QUESTION)
    wait_for_status(page, SHOWN)
    focused = page.switch_to.active_element
    assert focused.get_attribute("id") == "results", "after a search the focus moves to the results"
    for _ in range(3):  # past the sort order and the two downloads
        page.switch_to.active_element.send_keys(Keys.TAB)
    assert page.switch_to.active_element.tag_name == "button"
    page.switch_to.active_element.send_keys(Keys.TAB)
    link = page.switch_to.active_element
    assert link.tag_name == "a" and link.text.startswith("Kemenperin Catat 4,52 Juta")
    link.send_keys(Keys.ENTER)
    WebDriverWait(page, WAIT_S).until(shown.visibility_of_element_located((By.ID, "article")))
    assert urlparse(page.current_url).path == "/article"
    assert page.find_element(By.ID, "title").text.startswith("Kemenperin Catat 4,52 Juta")
    assert page.find_element(By.ID, "meta").text == "kumparan · 15 November 2024"
    text = page.find_element(By.ID, "text").text
    assert "telah menyerap 12,37 juta tenaga kerja" in text and "BACA JUGA" not in text.upper()
    found = " ".join(m.text for m in page.find_elements(By.CSS_SELECTOR, "#text mark"))  # the passage found
    assert found.startswith("Kementerian Perindustrian (Kemenperin) mencatat") and "12,37 juta tenaga kerja" in found
    screenshot(page, "test_keyboard_alone_opens_the_full_article-article")
    page.find_element(By.ID, "back").send_keys(Keys.ENTER)
    wait_for_status(page, SHOWN)  # back at the same search


def test_a_busy_server_is_asked_again_after_the_wait_it_gives(page):
    """A 503 with Retry-After (a server shedding load) is not shown as an error: the page asks
    again after the wait. The first question's fetch is answered 503 here, as a busy server does."""
    page.execute_script("""
        const realFetch = window.fetch;
        window.busyAnswers = 0;
        window.fetch = (path, options) => {
            if (String(path).startsWith("/ask") && window.busyAnswers === 0) {
                window.busyAnswers += 1;
                return Promise.resolve(new Response(JSON.stringify({detail: "the server is busy; retry in 1 s"}),
                    {status: 503, headers: {"Retry-After": "1", "Content-Type": "application/json"}}));
            }
            return realFetch(path, options);
        };
    """)
    ask(page, QUESTION)
    assert SHOWN in wait_for_status(page, SHOWN)
    assert page.execute_script("return window.busyAnswers") == 1
    assert "12,37 juta tenaga kerja" in page.find_element(By.ID, "answer").text


def test_errors_and_missing_articles_are_explained(page, server):
    page.get(f"{server}/?q=ikm&date_from=2024-99-01")
    status = wait_for_status(page, "tidak dapat dipakai")
    assert "date_from" in status and "error" in page.find_element(By.ID, "status").get_attribute("class")
    page.get(f"{server}/article?id=tidak-ada")
    assert "Artikel tidak ditemukan" in wait_for_status(page, "tidak ditemukan")


def test_readable_at_phone_width_with_the_answer_first(page, server):
    page.set_window_size(390, 844)
    page.get(f"{server}/?q={QUESTION}")
    wait_for_status(page, SHOWN)
    overflow = page.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "nothing is wider than a phone's screen"
    button = page.find_element(By.CSS_SELECTOR, "#search button[type=submit]")
    assert button.size["height"] >= 40, "the search button is big enough to tap"
    answer, filters = page.find_element(By.ID, "answer"), page.find_element(By.ID, "filters")
    assert answer.location["y"] + answer.size["height"] <= 844, "the answer is on the first screen"
    assert filters.location["y"] > answer.location["y"] and filters.get_attribute("open") is None, (
        "the filters come after the answer, folded")
    # The keyboard meets things in the order they are seen: the results before the filters.
    page.find_element(By.ID, "q").click()
    reached = []
    for _ in range(60):
        page.switch_to.active_element.send_keys(Keys.TAB)
        reached.append(page.execute_script(
            "const e = document.activeElement; return e.closest('#filters') ? 'filters' : "
            "e.closest('#passages') ? 'result' : e.id || e.tagName"))
        if reached[-1] == "filters":
            break
    assert "result" in reached and reached.index("result") < reached.index("filters"), reached


def test_a_server_that_protects_reads_asks_for_the_key(browser, settings, engine):
    with running_server(settings.index_dir, QA_API_KEY="kunci-halaman", QA_PROTECT_READS="true") as protected:
        browser.set_window_size(1200, 1000)
        browser.get(f"{protected}/")
        ask(browser, QUESTION)
        assert "meminta kunci API" in wait_for_status(browser, "kunci API")
        key = browser.switch_to.active_element
        assert key.get_attribute("id") == "key", "the focus goes to the key field"
        key.send_keys("kunci-salah", Keys.ENTER)
        wait_for_status(browser, "meminta kunci API")
        key.send_keys(Keys.CONTROL, "a")
        key.send_keys("kunci-halaman", Keys.ENTER)
        wait_for_status(browser, SHOWN)
        assert "12,37 juta tenaga kerja" in browser.find_element(By.ID, "answer").text
        WebDriverWait(browser, WAIT_S).until(lambda b: b.find_elements(By.CSS_SELECTOR, "input[name=sources]"))
        screenshot(browser, "test_a_server_that_protects_reads_asks_for_the_key")


def test_article_metadata_is_shown_as_text_never_run(browser, live_engine):
    """An article's title and URL come from scraped pages or from writers: markup in a title
    stays text, and a "javascript:" URL does not become a link."""
    live_engine.add(read_records([
        {**BATTERY, "title": '<img src="x" onerror="document.title=\'pwned\'"> Pabrik baterai',
         "url": "javascript:document.title='pwned'"},
        {"id": "baterai-kutipan", "source": "kontan", "date": "2025-03-04", "url": "https://example.test/baterai",
         "text": "Pejabat daerah menyebut investasi pabrik baterai di Batang bernilai Rp 18 triliun dan "
                 "pabrik itu mulai berproduksi tahun depan."},
    ]))
    with running_server(live_engine.settings.index_dir) as base:
        browser.set_window_size(1200, 1000)
        browser.get(f"{base}/")
        ask(browser, BATTERY_QUESTION)
        wait_for_status(browser, SHOWN)
        titles = [r.find_element(By.TAG_NAME, "h3").text for r in results(browser)]
        assert '<img src="x" onerror="document.title=\'pwned\'"> Pabrik baterai' in titles
        hrefs = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#passages a")]
        assert "https://example.test/baterai" in hrefs and not any(h.startswith("javascript:") for h in hrefs)
        assert not browser.find_elements(By.CSS_SELECTOR, "#passages img") and browser.title != "pwned"
        browser.get(f"{base}/article?id=baterai-batang")
        WebDriverWait(browser, WAIT_S).until(shown.visibility_of_element_located((By.ID, "article")))
        assert not browser.find_element(By.ID, "original").is_displayed() and browser.title != "pwned"
        screenshot(browser, "test_article_metadata_is_shown_as_text_never_run")


def test_sorted_newest_first_and_paged_to_a_second_page(browser, live_engine):
    """Twelve more articles make two pages: "more results" adds the second below the first, no
    article twice; "Terbaru" orders them by date, newest first."""
    places = ["Bandung", "Sleman", "Kudus", "Sidoarjo", "Jepara", "Bantul", "Gresik", "Tegal", "Garut", "Klaten",
              "Pasuruan", "Cirebon"]
    crafts = ["mebel jati", "batik tulis", "kerajinan rotan", "sepatu kulit", "tenun ikat", "gerabah", "logam cor",
              "makanan olahan", "konveksi", "anyaman bambu", "perak bakar", "keramik hias"]
    live_engine.add(read_records([
        {"id": f"ikm-{n:02d}", "source": f"warta{n % 3}", "date": f"2025-{n:02d}-10",
         "text": f"Sentra {crafts[n - 1]} di {places[n - 1]} menyerap {n * 1000 + 7} tenaga kerja IKM sepanjang 2024."}
        for n in range(1, 13)]))
    with running_server(live_engine.settings.index_dir) as base:
        browser.set_window_size(1200, 1000)
        browser.get(f"{base}/")
        ask(browser, QUESTION)
        status = wait_for_status(browser, SHOWN)
        assert status.startswith("Hasil 1–10 dari 17 artikel")
        first_page = article_ids(browser)
        more = browser.find_element(By.ID, "more")
        assert more.is_displayed()
        more.click()
        wait_for_status(browser, "Hasil 1–17 dari 17 artikel")
        both = article_ids(browser)
        assert both[:10] == first_page and len(set(both)) == 17 and not more.is_displayed()
        focused = browser.switch_to.active_element.get_attribute("href")
        assert parse_qs(urlparse(focused).query)["id"] == [both[10]], "the focus goes to the first new result"
        screenshot(browser, "test_paged_to_a_second_page")

        Select(browser.find_element(By.ID, "sort")).select_by_value("newest")
        WebDriverWait(browser, WAIT_S).until(lambda b: "sort=newest" in b.current_url)
        wait_for_status(browser, "Hasil 1–10 dari 17 artikel")
        dates = [r.find_element(By.CLASS_NAME, "meta").text.split(" · ")[1] for r in results(browser)]
        assert dates[:3] == ["10 Desember 2025", "10 November 2025", "10 Oktober 2025"]
        screenshot(browser, "test_sorted_newest_first")


def test_english_and_the_dark_theme(page):
    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        page.find_element(By.CSS_SELECTOR, "button[data-language=en]").click()
        assert page.find_element(By.CSS_SELECTOR, "label[for=q]").text == "Question"
        page.find_element(By.ID, "q").click()
        ask(page, QUESTION)
        assert wait_for_status(page, "articles for") == f"Results 1–5 of 5 articles for “{QUESTION}”."
        assert page.find_element(By.ID, "results-heading").text == "Results"
        assert "kumparan · 15 November 2024 · about 2024" in results(page)[0].find_element(By.CLASS_NAME, "meta").text
        assert "5 articles from 4 sources, published 10 August 2022 to 15 November 2024." in page.find_element(
            By.TAG_NAME, "header").text
        assert page.execute_script("return document.documentElement.lang") == "en"
        background = page.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(20, 24, 29)", "the dark theme follows the system's preference"
        screenshot(page, "test_english_and_the_dark_theme-en-dark")
    finally:
        page.find_element(By.CSS_SELECTOR, "button[data-language=id]").click()  # the choice is remembered
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_printed_results_are_the_answer_and_the_cards(page):
    """Printed (or saved as PDF), the page is the answer and the results: no search box,
    filters, buttons or language switch; dark colours do not reach paper."""
    ask(page, QUESTION)
    wait_for_status(page, SHOWN)
    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print", "features": [
        {"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        hidden = ["#search", "details#filters", ".toolbar", ".language", "#status"]
        assert [s for s in hidden if any(e.is_displayed() for e in page.find_elements(By.CSS_SELECTOR, s))] == []
        assert page.find_element(By.ID, "answer").is_displayed() and len(results(page)) == 5
        assert all(card.is_displayed() for card in results(page))
        assert not any(b.is_displayed() for b in page.find_elements(By.CSS_SELECTOR, ".actions button"))
        colours = "return [getComputedStyle(arguments[0]).backgroundColor, getComputedStyle(arguments[0]).color]"
        for element in (page.find_element(By.TAG_NAME, "body"), page.find_element(By.CSS_SELECTOR, ".answer-box")):
            assert page.execute_script(colours, element) == ["rgb(255, 255, 255)", "rgb(0, 0, 0)"]
        screenshot(page, "test_printed_results_are_the_answer_and_the_cards-print")
        pdf = page.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"]
        OUTPUT.joinpath("web", "printed.pdf").write_bytes(base64.b64decode(pdf))
    finally:
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})


def test_a_citation_copied_and_the_results_exported(page, server, tmp_path):
    page.execute_cdp_cmd("Browser.grantPermissions", {"origin": server,
                                                      "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    page.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    ask(page, QUESTION)
    wait_for_status(page, SHOWN)
    results(page)[0].find_element(By.CSS_SELECTOR, "button.copy").click()
    wait_for_status(page, "Kutipan disalin.")
    copied = page.execute_async_script("navigator.clipboard.readText().then(arguments[0])")
    assert copied == "kumparan (15 November 2024), “Kemenperin Catat 4,52 Juta Industri Kecil-Menengah, Serap 12,3 " \
                     "Juta Tenaga Kerja”"
    page.find_element(By.ID, "export-csv").click()
    # The browser may name the file before it has written it: wait for its contents too.
    WebDriverWait(page, WAIT_S).until(lambda _: [f for f in tmp_path.glob("*.csv") if f.stat().st_size])
    exported = next(tmp_path.glob("*.csv"))
    assert exported.name == "tanya-berita-berapa-tenaga-kerja-ikm-2024.csv"
    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 5 and rows[0]["source"] == "kumparan" and rows[0]["answer"] == "12,37 juta tenaga kerja"
    page.find_element(By.ID, "export-json").click()
    WebDriverWait(page, WAIT_S).until(lambda _: [f for f in tmp_path.glob("*.json") if f.stat().st_size])
    body = json.loads(next(tmp_path.glob("*.json")).read_text(encoding="utf-8"))
    assert body["question"] == QUESTION and len(body["results"]) == 5


def test_api_docs_render_with_the_network_blocked(browser, server):
    """Swagger UI and ReDoc come from the app's own files: with every other address blocked,
    both render the API's operations."""
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*", "*cdn*"]})
    try:
        browser.set_window_size(1200, 1000)
        browser.get(f"{server}/docs")
        WebDriverWait(browser, WAIT_S).until(
            lambda b: len(b.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")) >= 8)
        assert "Tanya Berita" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .title").text
        screenshot(browser, "test_api_docs_swagger_ui_offline")
        browser.get(f"{server}/redoc")
        WebDriverWait(browser, WAIT_S).until(lambda b: "Ask a question (query string)" in b.find_element(
            By.TAG_NAME, "body").text)
        screenshot(browser, "test_api_docs_redoc_offline")
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
        browser.execute_cdp_cmd("Network.disable", {})
