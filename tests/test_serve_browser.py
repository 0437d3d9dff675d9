"""``classicnets serve`` in a real browser: Debian's Chromium driven by Playwright against the app
served by uvicorn on 127.0.0.1. A "1" and a "0" drawn with the mouse are classified right and
change the feature maps; a clicked unit shows the sum the model computes; the playground's
worked example gives the course's numbers; 5 MB gets 413; no other address answers.

Without /usr/bin/chromium the tests skip, except under CI=true, where they fail."""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.runs import ImageRunConfig, load_run, train
from classicnets.serve import bind, create_app, open_run
from classicnets.serve.drawing import DrawingRecipe, decode_drawing

CHROMIUM = Path("/usr/bin/chromium")
SHOWN = "document.body.dataset.shown === document.body.dataset.drawn"


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} is not installed (apt-get install chromium), so the browser tests cannot run"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + "; CI must run them")
    pytest.skip(message)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    _need_chromium()
    import uvicorn

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("serve") / "lenet5-digits"
    train(
        ImageRunConfig(model="lenet5", data="digits", out=str(out), precision="fp32"),
        progress=False,
    )
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(create_app(open_run(out)), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = sock.getsockname()[1]
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", port=port, model=load_run(out)[1])
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser(live):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser, live):
    # The tests' own probes (wait_for_function) are evaluated strings, which the app's
    # Content-Security-Policy forbids; test_the_page_works_under_its_own_policy keeps it.
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, bypass_csp=True)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(live.url)
    page.wait_for_selector("body[data-started=yes]")
    yield page
    page.close()
    assert errors == [], errors


def draw(page, *strokes) -> None:
    """Clear the canvas, draw ``strokes`` (lists of canvas points) with the mouse, and wait for
    the page to show the drawing as it ends."""
    page.click("#tab-draw")
    page.click("#clear")
    box = page.locator("#pad").bounding_box()
    for points in strokes:
        page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()
    page.wait_for_function(SHOWN)


ONE = [(140, 40), (140, 240)]
ZERO = [
    (140 + 60 * math.sin(t * math.pi / 24), 140 - 100 * math.cos(t * math.pi / 24))
    for t in range(49)
]


def maps(page) -> list[str]:
    return page.eval_on_selector_all(".layer canvas", "cs => cs.map(c => c.toDataURL())")


def test_a_drawn_one_and_zero_are_classified_and_change_the_maps(page):
    draw(page, ONE)
    assert page.locator("#top-class").get_attribute("data-top") == "1"
    after_one = maps(page)
    draw(page, ZERO)
    assert page.locator("#top-class").get_attribute("data-top") == "0"
    after_zero = maps(page)
    assert len(after_one) == len(after_zero) > 50  # every channel of every layer, and the vectors
    changed = sum(a != b for a, b in zip(after_one, after_zero, strict=True))
    assert changed >= 0.9 * len(after_one)
    bars = page.locator("#probs .bar i").evaluate_all(
        "bars => bars.map(b => parseFloat(b.style.width))"
    )
    assert len(bars) == 10 and abs(sum(bars) - 100) < 0.5


def _model_value(live, page, layer: str, channel: int, y: int, x: int) -> float:
    """The layer's output at the unit, for the canvas as the browser holds it: the model run
    here with a forward hook of our own."""
    image = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
    model = live.model
    x_in = DrawingRecipe(model, "digits")(decode_drawing(image)).x
    seen = {}
    module = model.module.eval()
    handle = module.get_submodule(layer).register_forward_hook(lambda m, i, o: seen.update(out=o))
    with torch.no_grad():
        module(x_in)
    handle.remove()
    return float(seen["out"][0, channel, y, x])


@pytest.mark.parametrize(
    "shown, channel, explained", [("features.3", 4, "features.3"), ("features.1", 2, "features.0")]
)
def test_a_clicked_unit_shows_the_sum_the_model_computes(page, live, shown, channel, explained):
    draw(page, ZERO)
    canvas = page.locator(f'.layer[data-layer="{shown}"] canvas').nth(channel)
    scale = int(canvas.get_attribute("data-scale"))
    y, x = 3, 5
    canvas.click(position={"x": (x + 0.5) * scale, "y": (y + 0.5) * scale})
    page.wait_for_function(
        f"(document.body.dataset.explained || '').startsWith('{explained}/{channel}/{y}/{x}/')"
    )
    card = page.locator("#explain-card")
    assert (card.get_attribute("data-layer"), card.get_attribute("data-channel")) == (
        explained,
        str(channel),
    )
    expected = _model_value(live, page, explained, channel, y, x)
    shown_sum = float(page.locator("#explain-sum").text_content())
    assert abs(shown_sum - expected) < 1e-5 * max(1.0, abs(expected))
    assert abs(float(page.locator("#explain-model").text_content()) - expected) < 1e-5 * max(
        1.0, abs(expected)
    )
    assert "Sigmoid" in page.locator("#explain-after").text_content()
    assert page.locator("#explain-grids .explain-row").count() == (
        1 if explained == "features.0" else 6
    )


def _cells(page, grid: str) -> list[str]:
    return page.locator(f"{grid} td").all_text_contents()


def test_the_playground_gives_the_worked_examples(page):
    page.click("#tab-playground")
    page.wait_for_selector("[data-preset]")
    page.click('[data-preset="3×3 ⋆ 2×2"]')
    page.wait_for_function("document.body.dataset.playground === '[[19,25],[37,43]]'")
    assert _cells(page, "#pg-y") == ["19", "25", "37", "43"]
    page.click('[data-preset="padding 1, stride 3×2"]')
    page.wait_for_function("document.body.dataset.playground === '[[0,8],[6,8]]'")
    assert page.locator("#pg-out-shape").get_attribute("data-shape") == "2x2"
    assert _cells(page, "#pg-y") == ["0", "8", "6", "8"]
    assert len(_cells(page, "#pg-x")) == 25  # 3x3 with a ring of padding
    sizes = page.locator("#pg-sizes").text_content()
    assert (
        "height: ⌊(3 + 2×1 − 2) / 3⌋ + 1 = 2" in sizes
        and "width: ⌊(3 + 2×1 − 2) / 2⌋ + 1 = 2" in sizes
    )
    assert page.locator("#pg-x td.hit").count() == 4  # the window the animation shows
    page.fill("#pg-kernel", "1 1 1 1 1; 1 1 1 1 1; 1 1 1 1 1; 1 1 1 1 1; 1 1 1 1 1")
    page.fill("#pg-padding", "0")
    page.wait_for_function("document.body.dataset.playground === 'error'")
    assert "(3 - 5 + 0 + 1 = -1)" in page.locator("#pg-error").text_content()


def test_the_model_tab_shows_the_table_and_any_architecture(page):
    page.click("#tab-model")
    page.wait_for_function("document.body.dataset.architecture === 'lenet5'")
    assert page.locator("#model-table tfoot td").nth(3).text_content() == "61,706"
    assert "lenet5 on digits" in page.locator("#model-name").text_content()
    page.select_option("#arch-select", "resnet18")
    page.wait_for_function("document.body.dataset.architecture === 'resnet18'")
    assert page.locator("#arch-table tfoot td").nth(3).text_content() == "11,689,512"
    assert page.locator("#arch-select option", has_text="char_lstm").count() == 0


def test_the_page_works_under_its_own_policy(browser, live):
    strict = browser.new_page()
    messages: list[str] = []
    strict.on("console", lambda message: messages.append(message.text))
    strict.goto(live.url)
    strict.wait_for_selector("body[data-started=yes]")
    box = strict.locator("#pad").bounding_box()
    strict.mouse.move(box["x"] + 140, box["y"] + 40)
    strict.mouse.down()
    strict.mouse.move(box["x"] + 140, box["y"] + 240, steps=5)
    strict.mouse.up()
    strict.wait_for_selector("#top-class[data-top]")
    strict.click("#tab-playground")
    strict.wait_for_selector("#pg-y td")
    strict.close()
    assert not [m for m in messages if "Content Security Policy" in m], messages


def test_a_5_mb_post_gets_413(page):
    status = page.evaluate(
        """async () => (await fetch('/api/predict', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: 'x'.repeat(5 * 1024 * 1024)})).status"""
    )
    assert status == 413


def _other_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one."""
    found = set()
    try:
        found |= {
            info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        }
    except OSError:
        pass
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # routing only: nothing is sent
        found.add(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    others = sorted(a for a in found if not a.startswith("127.") and a != "0.0.0.0")
    return others[0] if others else None


def test_not_reachable_on_a_non_loopback_address(live):
    address = _other_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to try")
    with pytest.raises(OSError):
        socket.create_connection((address, live.port), timeout=2).close()
    socket.create_connection(("127.0.0.1", live.port), timeout=2).close()  # while loopback answers
