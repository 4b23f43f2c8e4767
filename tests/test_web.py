"""The search page as a person uses it: real headless Chromium (Debian's package, driven by
Selenium) against the real server. Screenshots go to test-output/web/."""

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
from selenium.webdriver.support.ui import WebDriverWait

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


def ask(browser, question: str) -> None:
    """Types the question into the box the page focused, and presses Enter."""
    box = browser.switch_to.active_element
    assert box.get_attribute("id") == "q", "the question box has the focus when the page opens"
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(question, Keys.ENTER)


def test_a_typed_question_shows_the_answering_passage_first(page):
    ask(page, QUESTION)
    assert "bagian berita" in wait_for_status(page, "bagian berita")
    answer = page.find_element(By.ID, "answer").text
    assert "12,37 juta tenaga kerja" in answer and "Menurut kumparan (15 November 2024)" in answer
    first = results(page)[0]
    assert "kumparan · 15 November 2024 · membahas 2024" in first.find_element(By.CLASS_NAME, "meta").text
    marks = [m.text for m in first.find_elements(By.TAG_NAME, "mark")]
    assert "12,37 juta tenaga kerja" in marks and "IKM" in marks
    assert "q=" in page.current_url  # the search is in the address: bookmarkable, back button works


def test_source_and_date_filters(page):
    WebDriverWait(page, WAIT_S).until(lambda b: b.find_elements(By.CSS_SELECTOR, "input[name=source]"))
    republika = page.find_element(By.CSS_SELECTOR, "input[name=source][value=Republika]")
    republika.send_keys(Keys.SPACE)  # checkboxes toggle from the keyboard
    page.find_element(By.ID, "q").click()
    ask(page, QUESTION)
    wait_for_status(page, "bagian berita")
    assert parse_qs(urlparse(page.current_url).query)["source"] == ["Republika"]
    metas = [r.find_element(By.CLASS_NAME, "meta").text for r in results(page)]
    assert metas and all(m.startswith("Republika · ") for m in metas)

    # Dates after Republika's only article (2022): nothing matches, and the page says so.
    page.find_element(By.ID, "from").send_keys("01012024")  # typed as mm/dd/yyyy in the en-US locale
    page.find_element(By.ID, "q").send_keys(Keys.ENTER)
    status = wait_for_status(page, "Tidak ada bagian berita")
    assert "hapus saringan" in status and not results(page)
    assert parse_qs(urlparse(page.current_url).query)["date_from"] == ["2024-01-01"]


def test_keyboard_alone_opens_the_full_article(page):
    ask(page, QUESTION)
    wait_for_status(page, "bagian berita")
    focused = page.switch_to.active_element
    assert focused.get_attribute("id") == "results", "after a search the focus moves to the results"
    focused.send_keys(Keys.TAB)
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
    wait_for_status(page, "bagian berita")  # back at the same search


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
    assert "bagian berita" in wait_for_status(page, "bagian berita")
    assert page.execute_script("return window.busyAnswers") == 1
    assert "12,37 juta tenaga kerja" in page.find_element(By.ID, "answer").text


def test_errors_and_missing_articles_are_explained(page, server):
    page.get(f"{server}/?q=ikm&date_from=2024-99-01")
    status = wait_for_status(page, "tidak dapat dipakai")
    assert "date_from" in status and "error" in page.find_element(By.ID, "status").get_attribute("class")
    page.get(f"{server}/article?id=tidak-ada")
    assert "Artikel tidak ditemukan" in wait_for_status(page, "tidak ditemukan")


def test_readable_at_phone_width(page, server):
    page.set_window_size(390, 844)
    page.get(f"{server}/?q={QUESTION}")
    wait_for_status(page, "bagian berita")
    overflow = page.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "nothing is wider than a phone's screen"
    button = page.find_element(By.CSS_SELECTOR, "#search button[type=submit]")
    assert button.size["height"] >= 40, "the search button is big enough to tap"


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
        wait_for_status(browser, "bagian berita")
        assert "12,37 juta tenaga kerja" in browser.find_element(By.ID, "answer").text
        WebDriverWait(browser, WAIT_S).until(lambda b: b.find_elements(By.CSS_SELECTOR, "input[name=source]"))
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
        wait_for_status(browser, "bagian berita")
        titles = [r.find_element(By.TAG_NAME, "h3").text for r in results(browser)]
        assert '<img src="x" onerror="document.title=\'pwned\'"> Pabrik baterai' in titles
        hrefs = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#passages a")]
        assert "https://example.test/baterai" in hrefs and not any(h.startswith("javascript:") for h in hrefs)
        assert not browser.find_elements(By.CSS_SELECTOR, "#passages img") and browser.title != "pwned"
        browser.get(f"{base}/article?id=baterai-batang")
        WebDriverWait(browser, WAIT_S).until(shown.visibility_of_element_located((By.ID, "article")))
        assert not browser.find_element(By.ID, "original").is_displayed() and browser.title != "pwned"
        screenshot(browser, "test_article_metadata_is_shown_as_text_never_run")
