"""Load of the public web page and its chat widget in headless Chromium.

For each page, ``--loads`` first views, each in a fresh browser context (empty cache):
bytes transferred (the sum of ``encodedDataLength`` of every HTTP response, headers
included, from the DevTools protocol) and times from navigation start, read from the
page's own User Timing marks (``chat.js`` sets them):

* ``/`` (chat closed): the widget built and usable (``codesign-chat-built``), and the
  load event;
* ``/c/<slug>`` (the chat opens and starts the consultation): time to interactive = the
  socket connected, the session confirmed and the input enabled
  (``codesign-chat-ready``), and the first bot message shown (``codesign-chat-first-reply``).

Then a repeat view in the same context shows what the cache saves (static files carry a
content hash and are cached for good). Figures are medians over the loads.

Run: ``make bench`` (or ``.venv/bin/python -m bench.page_load``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from bench.common import write_results
from bot.devtools.stack import Stack, ingest_demo_knowledge, launch_demo
from bot.devtools.web import WebServer, launch_chromium

SLUG = "library-hours-2027"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 60_000


@dataclass
class Load:
    """One page view."""

    bytes: int
    requests: int
    marks: dict[str, float]


def _marks(page: Page) -> dict[str, float]:
    marks: dict[str, float] = page.evaluate("""() => {
      const out = {};
      for (const m of performance.getEntriesByType('mark')) out[m.name] = m.startTime;
      const nav = performance.getEntriesByType('navigation')[0];
      if (nav) {
        out.domContentLoaded = nav.domContentLoadedEventEnd;
        out.load = nav.loadEventEnd;
      }
      return out;
    }""")
    return marks


def view(page: Page, url: str, wait_for: list[str]) -> Load:
    """Open ``url`` and wait for the named marks; count what came over the network."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: list[int] = []
    cdp.on("Network.loadingFinished", lambda event: sizes.append(int(event["encodedDataLength"])))
    page.goto(url, wait_until="load")
    for name in wait_for:
        page.wait_for_function("name => performance.getEntriesByName(name).length > 0",
                               arg=name, timeout=TIMEOUT_MS)
    # Let late responses (e.g. the favicon) finish being counted.
    page.wait_for_load_state("networkidle")
    cdp.detach()
    return Load(sum(sizes), len(sizes), _marks(page))


def measure(browser: Browser, url: str, wait_for: list[str], loads: int) -> dict[str, Any]:
    """First and repeat views of one page, ``loads`` times; medians."""
    first: list[Load] = []
    repeat: list[Load] = []
    for _ in range(loads):
        context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        try:
            page = context.new_page()
            first.append(view(page, url, wait_for))
            second = context.new_page()  # a new tab: same cache, no stored chat
            repeat.append(view(second, url, wait_for))
        finally:
            context.close()
    times = {name: statistics.median(load.marks[name] for load in first)
             for name in ["domContentLoaded", "load", *wait_for]}
    return {
        "loads": loads,
        "first_view_bytes": statistics.median(load.bytes for load in first),
        "first_view_requests": statistics.median(load.requests for load in first),
        "repeat_view_bytes": statistics.median(load.bytes for load in repeat),
        "first_view_ms": times,
        "repeat_view_ms": {name: statistics.median(load.marks[name] for load in repeat)
                           for name in wait_for},
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=15, help="page views per page")
    parser.add_argument("--port-base", type=int, default=5500,
                        help="Rasa on base+5, the action server on base+55")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="codesign-bench-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.db'}"
        launch_demo(url)
        ingest_demo_knowledge(url, workdir)
        stack = Stack(url, workdir, rasa_port=args.port_base + 5,
                      action_port=args.port_base + 55)
        stack.start()
        env = stack.env()
        env["RASA_PUBLIC_URL"] = stack.rasa_url
        web = WebServer(env, workdir / "logs" / "web.log")
        try:
            web.start()
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    measure(browser, f"{web.url}/c/{SLUG}",
                            ["codesign-chat-ready", "codesign-chat-first-reply"], 2)  # warm-up
                    home = measure(browser, f"{web.url}/", ["codesign-chat-built"], args.loads)
                    chat = measure(browser, f"{web.url}/c/{SLUG}",
                                   ["codesign-chat-ready", "codesign-chat-first-reply"],
                                   args.loads)
                finally:
                    browser.close()
        finally:
            web.stop()
            stack.stop()

    figures: dict[str, object] = {"home": home, "consultation_chat": chat}
    print(f"Page load in headless Chromium (medians of {args.loads} first views, empty cache)")
    print(f"  /                 {home['first_view_bytes'] / 1024:6.1f} KiB in "
          f"{home['first_view_requests']:.0f} requests; repeat view "
          f"{home['repeat_view_bytes'] / 1024:.1f} KiB")
    ms = home["first_view_ms"]
    print(f"                    widget usable {ms['codesign-chat-built']:6.1f} ms   "
          f"DOMContentLoaded {ms['domContentLoaded']:6.1f} ms   load {ms['load']:6.1f} ms")
    print(f"  /c/{SLUG}  {chat['first_view_bytes'] / 1024:6.1f} KiB in "
          f"{chat['first_view_requests']:.0f} requests; repeat view "
          f"{chat['repeat_view_bytes'] / 1024:.1f} KiB")
    ms = chat["first_view_ms"]
    print(f"                    time to interactive (chat connected, input enabled) "
          f"{ms['codesign-chat-ready']:6.1f} ms")
    print(f"                    first bot message {ms['codesign-chat-first-reply']:6.1f} ms   "
          f"load {ms['load']:6.1f} ms")
    ms = chat["repeat_view_ms"]
    print(f"                    repeat view: interactive {ms['codesign-chat-ready']:6.1f} ms, "
          f"first bot message {ms['codesign-chat-first-reply']:6.1f} ms")
    write_results("bench-page-load", figures)


if __name__ == "__main__":
    main()
