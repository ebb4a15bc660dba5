"""`notus serve` on the embedded SmolLM2 model (one server for the module): the official `openai` client,
streaming and not; then a real headless Chromium (Debian chromium + chromedriver, driven by Selenium)
uses the chat page: streamed reply, Markdown safety, stop button, conversation kept in localStorage,
phone-sized layout; screenshots saved in the test's tmp dir."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import openai
import pytest

from notus.serve.process import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def browser_or_skip(tmp_path: Path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        message = f"{', '.join(missing)} missing: `apt-get install -y chromium chromium-driver` (scripts/setup.sh test)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1200,900"):  # fmt: skip
        options.add_argument(flag)
    # An explicit chromedriver path: selenium-manager never runs, nothing is downloaded.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def wait_until(condition, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def set_temperature(driver, value: float) -> None:
    driver.execute_script(
        "const el = document.getElementById('temperature'); el.value = arguments[0];"
        "el.dispatchEvent(new Event('input'));",
        str(value),
    )


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 2000, path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    args = ["--threads", "1", "--log-level", "warning"]
    log = tmp_path_factory.mktemp("serve") / "server.log"
    with ServerProcess("smollm2-135m-instruct", args, log_path=log) as running:
        yield running


def test_openai_client_on_the_embedded_model(server):
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0, timeout=120)
    question = [{"role": "user", "content": "What is the capital of France?"}]
    kwargs = dict(model="smollm2-135m-instruct", messages=question, max_tokens=16, temperature=0)
    answer = client.chat.completions.create(**kwargs).choices[0].message.content
    streamed = "".join(
        c.choices[0].delta.content or "" for c in client.chat.completions.create(**kwargs, stream=True)
    )
    assert "Paris" in answer and streamed == answer


@pytest.fixture()
def driver(tmp_path):
    driver = browser_or_skip(tmp_path)
    yield driver
    driver.quit()


def ask_on_page(driver, server, text: str, max_tokens: int, temperature: float) -> None:
    """Open the page, set max tokens and temperature in the settings, type `text` and press Enter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(server.base_url + "/")
    wait_until(lambda: driver.find_element(By.ID, "model-name").text, 30, "the model name")
    driver.find_element(By.ID, "settings-toggle").click()
    field = driver.find_element(By.ID, "max-tokens")
    field.clear()
    field.send_keys(str(max_tokens))
    set_temperature(driver, temperature)
    prompt = driver.find_element(By.ID, "prompt")
    prompt.send_keys(text)
    prompt.send_keys(Keys.ENTER)


def reply_text(driver) -> str:
    from selenium.webdriver.common.by import By

    replies = driver.find_elements(By.CSS_SELECTOR, ".message.assistant .content")
    return replies[-1].text.replace("▍", "").strip() if replies else ""


def test_chat_page_streams_a_reply(server, driver, tmp_path):
    from selenium.webdriver.common.by import By

    ask_on_page(driver, server, "What is the capital of France?", max_tokens=40, temperature=0)  # greedy

    # Streamed: text appears while the request is still running (stop button shown), then grows.
    lengths = set()
    wait_until(
        lambda: reply_text(driver) and driver.find_element(By.ID, "stop").is_displayed(), 120, "first tokens"
    )
    while driver.find_element(By.ID, "stop").is_displayed() and len(lengths) < 50:
        lengths.add(len(reply_text(driver)))
        time.sleep(0.05)
    wait_until(lambda: driver.find_element(By.ID, "send").is_displayed(), 120, "the end of the reply")
    assert len(lengths) >= 2, "the reply did not arrive in several pieces"
    assert "Paris" in reply_text(driver)
    shot = tmp_path / "chat.png"
    assert driver.save_screenshot(str(shot))
    assert_png(shot)

    # Kept in the browser: a reload shows the same conversation.
    driver.refresh()
    wait_until(lambda: "Paris" in reply_text(driver), 10, "the conversation after reload")
    users = driver.find_elements(By.CSS_SELECTOR, ".message.user")
    assert [u.text for u in users] == ["What is the capital of France?"]


def test_stop_button_stops_generation(server, driver):
    from selenium.webdriver.common.by import By

    ask_on_page(
        driver, server, "Write a very long essay about the Roman Empire.", max_tokens=1500, temperature=0.7
    )
    wait_until(
        lambda: httpx.get(server.base_url + "/health").json()["running"] == 1, 60, "generation to start"
    )
    wait_until(lambda: reply_text(driver), 60, "first tokens")
    driver.find_element(By.ID, "stop").click()
    wait_until(
        lambda: "(stopped)" in driver.find_elements(By.CSS_SELECTOR, ".message.assistant")[-1].text,
        10,
        "note",
    )
    # The server notices the aborted request and frees the batch slot long before 1500 tokens.
    wait_until(
        lambda: httpx.get(server.base_url + "/health").json()["running"] == 0, 20, "the server to stop"
    )


def test_markdown_is_rendered_safely_and_page_fits_a_phone(server, driver, tmp_path):
    driver.get(server.base_url + "/")
    wait_until(
        lambda: driver.execute_script("return typeof renderMarkdown === 'function'"), 10, "markdown.js"
    )
    html = driver.execute_script(
        "return renderMarkdown(arguments[0])",
        "# Title\n**bold** and `<b>code</b>` <img src=x onerror=alert(1)>\n\n- a\n- b\n\n```python\nprint('<hi>')\n```\n"
        "[ok](https://example.org) [bad](javascript:alert(1))",
    )
    assert "<strong>bold</strong>" in html and "<code>&lt;b&gt;code&lt;/b&gt;</code>" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<ul><li>a</li><li>b</li></ul>" in html
    assert '<span class="lang">python</span><code>print(&#39;&lt;hi&gt;&#39;)</code>' in html
    assert 'href="https://example.org"' in html and "javascript:" not in html.split("[bad]")[0].replace(
        "[bad]", ""
    )
    assert 'href="javascript' not in html

    # A phone showing a stored conversation with Markdown and a long code line: nothing scrolls sideways.
    conversation = {"messages": [
        {"role": "user", "content": "Show me Python"},
        {"role": "assistant", "content": "## Example\nA **list** in `Python`:\n\n```python\n"
         "numbers = [1, 2, 3]  # a long comment that would not fit on a phone screen at all\n```\n- one\n- two"},
    ]}  # fmt: skip
    driver.execute_script("localStorage.setItem('notus-chat', JSON.stringify(arguments[0]))", conversation)
    driver.set_window_size(390, 844)
    driver.refresh()
    wait_until(lambda: driver.execute_script("return document.querySelectorAll('.message pre code').length"), 10,
               "the stored conversation")  # fmt: skip
    assert (
        driver.execute_script("return document.querySelector('.message.assistant h4').textContent")
        == "Example"
    )
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone"
    shot = tmp_path / "phone.png"
    assert driver.save_screenshot(str(shot))
    assert_png(shot)
