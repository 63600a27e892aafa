"""Drive the web chat widget in a real browser page (Playwright), as a citizen would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import ConsoleMessage, Locator, Page

from bot.devtools.web import AXE_JS, READY_SELECTOR

REPLY_TIMEOUT_MS = 60_000

# Is there a bot message, at index >= start, whose text contains the wanted part?
_BOT_SAYS = """([start, part]) => {
  const bots = document.querySelectorAll('.cs-msg.cs-bot .cs-text');
  for (let i = start; i < bots.length; i += 1) {
    if (bots[i].textContent.includes(part)) return true;
  }
  return false;
}"""


@dataclass
class ChatPage:
    """A page with the chat widget; records console errors and uncaught exceptions."""

    page: Page
    problems: list[str] = field(default_factory=list)
    expected_404s: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and message.location.get("url") not in self.expected_404s:
            self.problems.append(f"console error: {message.text}")

    def goto_not_found(self, url: str) -> None:
        """Open a page that must answer 404 (the browser logs that as an error: expected)."""
        self.expected_404s.add(url)
        response = self.page.goto(url)
        assert response is not None and response.status == 404, url

    # ------------------------------------------------------------------ state
    def wait_ready(self) -> None:
        """Wait until the widget is connected and its session confirmed."""
        self.page.wait_for_selector(READY_SELECTOR, state="attached", timeout=REPLY_TIMEOUT_MS)

    @property
    def input(self) -> Locator:
        return self.page.get_by_label("Your message")

    def bot_texts(self) -> list[str]:
        return [t.removeprefix("Assistant: ") for t in
                self.page.locator(".cs-msg.cs-bot .cs-text").all_text_contents()]

    def user_texts(self) -> list[str]:
        return [t.removeprefix("You: ") for t in
                self.page.locator(".cs-msg.cs-user .cs-text").all_text_contents()]

    def bot_count(self) -> int:
        return self.page.locator(".cs-msg.cs-bot").count()

    def wait_bot(self, part: str, since: int = 0) -> None:
        """Wait for a bot message containing ``part`` among those from index ``since``."""
        try:
            self.page.wait_for_function(_BOT_SAYS, arg=[since, part], timeout=REPLY_TIMEOUT_MS)
        except Exception as exc:
            raise AssertionError(f"the bot never said {part!r}; it said:\n"
                                 + "\n---\n".join(self.bot_texts()[since:])) from exc

    def session_id(self) -> str:
        """The widget's session id (Rasa's sender id), from sessionStorage."""
        value: str = self.page.evaluate("""() => {
          const key = Object.keys(sessionStorage).find(k => k.startsWith('codesign-chat:'));
          return JSON.parse(sessionStorage.getItem(key)).sessionId;
        }""")
        return value

    # ------------------------------------------------------------------ acting
    def say(self, text: str, expect: str) -> None:
        """Type a message, send it with Enter and wait for a reply containing ``expect``."""
        since = self.bot_count()
        self.input.fill(text)
        self.input.press("Enter")
        self.wait_bot(expect, since)

    def choice(self, title: str) -> Locator:
        """The usable button whose title contains ``title``."""
        return self.page.locator(".cs-choice:not([disabled])", has_text=title).first

    def press(self, title: str, expect: str) -> None:
        """Click a bot button and wait for a reply containing ``expect``."""
        since = self.bot_count()
        self.choice(title).click()
        self.wait_bot(expect, since)

    # ------------------------------------------------------------------ checks
    def serious_axe_violations(self) -> list[str]:
        """axe-core's serious and critical violations on the page as it is now."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated over the DevTools protocol: the page's CSP rightly blocks an
            # injected inline <script> (add_script_tag), and must stay on for the test.
            self.page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        # Colours caught mid-transition (a button just clicked or hovered) are neither the
        # old nor the new ones: move the pointer away and let transitions finish first.
        self.page.mouse.move(0, 0)
        self.page.wait_for_function(
            "() => document.getAnimations().every(a => !(a instanceof CSSTransition)"
            " || a.playState !== 'running')",
            timeout=10_000)
        result: dict[str, Any] = self.page.evaluate("() => axe.run()")
        return [f"{v['impact']}: {v['id']} ({v['help']}) at "
                + ", ".join(str(node["target"]) for node in v["nodes"])
                for v in result["violations"] if v["impact"] in ("serious", "critical")]

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than the viewport (0: no sideways scroll)."""
        value: int = self.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        return value
