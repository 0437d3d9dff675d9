"""Screenshots of ``classicnets serve`` for the docs: docs/serve-draw.png, serve-playground.png and
serve-model.png.

    python docs/screenshots.py [RUN]

Without RUN, LeNet-5 is trained on digits (a few seconds) into a temporary folder, so the
user's cache is not touched. The app is served on a free port of 127.0.0.1 and Debian's
Chromium (/usr/bin/chromium) is driven with Playwright: a "0" is drawn with the mouse, one unit
of the second convolution is clicked, the playground shows the worked example with padding 1
and stride 3x2, and the model tab shows AlexNet beside the served LeNet-5.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
import uvicorn
from playwright.sync_api import sync_playwright

from classicnets.runs import ImageRunConfig, train
from classicnets.serve import bind, create_app, open_run

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parent
WIDTH = 1280
ZERO = [
    (140 + 62 * math.sin(t * math.pi / 24), 140 - 100 * math.cos(t * math.pi / 24))
    for t in range(49)
]


def serve_in_thread(run: Path) -> tuple[uvicorn.Server, threading.Thread, int]:
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(create_app(open_run(run)), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, sock.getsockname()[1]


def shoot(url: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        # bypass_csp: the waits below are evaluated strings, which the app's policy forbids
        page = browser.new_page(viewport={"width": WIDTH, "height": 900}, bypass_csp=True)
        page.goto(url)
        page.wait_for_selector("body[data-started=yes]")

        box = page.locator("#pad").bounding_box()
        page.mouse.move(box["x"] + ZERO[0][0], box["y"] + ZERO[0][1])
        page.mouse.down()
        for x, y in ZERO[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()
        page.wait_for_function("document.body.dataset.shown === document.body.dataset.drawn")
        canvas = page.locator('.layer[data-layer="features.3"] canvas').nth(4)
        scale = int(canvas.get_attribute("data-scale"))
        canvas.click(position={"x": 5.5 * scale, "y": 3.5 * scale})
        page.wait_for_function("(document.body.dataset.explained || '').startsWith('features.3/')")
        page.evaluate("window.scrollTo(0, 0)")
        height = page.evaluate("document.body.scrollHeight")
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": min(height, 1750)}
        page.screenshot(path=str(DOCS / "serve-draw.png"), full_page=True, clip=clip)

        page.click("#tab-playground")
        page.wait_for_selector("[data-preset]")
        page.click('[data-preset="padding 1, stride 3×2"]')
        page.wait_for_function("document.body.dataset.playground === '[[0,8],[6,8]]'")
        page.click("#pg-step")  # paused on the second window, which reads the padding and X
        page.screenshot(path=str(DOCS / "serve-playground.png"), full_page=True)

        page.click("#tab-model")
        page.wait_for_function("document.body.dataset.architecture === 'lenet5'")
        page.select_option("#arch-select", "alexnet")
        page.wait_for_function("document.body.dataset.architecture === 'alexnet'")
        page.screenshot(path=str(DOCS / "serve-model.png"), full_page=True)
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="a run directory (default: train LeNet-5 on digits)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is not installed; apt-get install chromium first.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        run = Path(args.run) if args.run else Path(scratch) / "lenet5-digits"
        if not args.run:
            torch.set_num_threads(1)  # a tiny model: one thread is fastest
            config = ImageRunConfig(model="lenet5", data="digits", out=str(run), precision="fp32")
            print(train(config, progress=False).summary(), file=sys.stderr)
        server, thread, port = serve_in_thread(run)
        try:
            shoot(f"http://127.0.0.1:{port}/")
        finally:
            server.should_exit = True
            thread.join(10)
    for name in ("serve-draw.png", "serve-playground.png", "serve-model.png"):
        print(f"wrote {DOCS / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
