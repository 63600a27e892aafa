"""Everything the bot says, rendered from consultation definitions.

Kept apart from the engine so wording can change (or be translated) without touching
the logic.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.messages import BotMessage, Button, payload

COMMANDS_HELP = (
    "You can type your answer or press a button. At any question you can say "
    "“skip” (optional questions), “back”, “repeat”, “help”, “pause” (to finish later) "
    "or “forget me” (to delete everything you told us)."
)


def consultation_button(definition: dict[str, Any], slug: str) -> Button:
    """A button that starts a consultation."""
    return Button(definition["title"], payload("start_consultation", consultation=slug))


def welcome(open_items: list[tuple[str, dict[str, Any]]],
            paused_title: str | None) -> BotMessage:
    """Greeting with open consultations as buttons, and a resume button when paused."""
    buttons: list[Button] = []
    if paused_title:
        buttons.append(Button(f"Continue: {paused_title}", payload("resume")))
    buttons += [consultation_button(definition, slug) for slug, definition in open_items]
    if not open_items:
        text = ("Hello! I run consultations for public services, but none is open right now. "
                "Please come back later.")
    else:
        agencies = sorted({definition["agency"] for _, definition in open_items})
        lines = [f"Hello! I collect residents’ views for {', '.join(agencies)}.",
                 "These consultations are open:"]
        lines += [f"• {d['title']} — {d['summary']}" for _, d in open_items]
        lines.append("Which one would you like to take part in?")
        text = "\n".join(lines)
    if paused_title:
        text = f"Welcome back! You paused “{paused_title}”.\n" + text
    return BotMessage(text, tuple(buttons))


def consent_request(definition: dict[str, Any]) -> BotMessage:
    """Intro and privacy notice, asking for consent."""
    privacy = definition["privacy"]
    lines = [f"{definition['title']} ({definition['agency']}, {definition['service']})"]
    if definition.get("intro"):
        lines.append(definition["intro"])
    lines.append(f"Privacy: {privacy_statement(definition)}")
    if privacy.get("contact"):
        lines.append(f"Questions about your data: {privacy['contact']}.")
    lines.append("Do you agree to take part?")
    return BotMessage("\n\n".join(lines), (Button("Yes, I agree", payload("affirm")),
                                           Button("No, thanks", payload("deny"))))


def privacy_statement(definition: dict[str, Any]) -> str:
    """What is stored, for how long and who sees it (the chat and the web page say it alike)."""
    return (
        "we store your answers and this conversation under a pseudonymous code, "
        "not your name or phone number. We keep them for "
        f"{definition['privacy']['retention_days']} days. "
        f"Only staff of {definition['agency']} who review this consultation see them. "
        "You can say “forget me” at any time to delete everything."
    )


def question(definition: dict[str, Any], q: dict[str, Any], position: tuple[int, int], *,
             pending: list[str] | None = None, previous_answer: str | None = None,
             can_go_back: bool = True, first_time_hint: bool = False) -> BotMessage:
    """A question with progress, options as buttons, and navigation buttons."""
    number, total = position
    lines = [f"Question {number} of {total}", q["text"]]
    buttons: list[Button] = []
    qid = q["id"]
    if q["type"] in ("single_choice", "multi_choice"):
        for index, option in enumerate(q["options"], 1):
            mark = "✓ " if pending and option in pending else ""
            buttons.append(Button(f"{mark}{option}", payload("choose", choice=f"{qid}:{index}")))
        if q["type"] == "multi_choice":
            limit = f" (up to {q['max_choices']})" if q.get("max_choices") else ""
            lines.append(f"Choose all that apply{limit}, then press Done. "
                         "You can also type them, separated by commas.")
            if pending:
                lines.append("Selected so far: " + ", ".join(pending))
            buttons.append(Button("Done", payload("choose", choice=f"{qid}:done")))
    elif q["type"] == "scale":
        labels = q.get("labels", {})
        for point in range(q["min"], q["max"] + 1):
            label = labels.get(str(point))
            title = f"{point} – {label}" if label else str(point)
            buttons.append(Button(title, payload("choose", choice=f"{qid}:{point}")))
        hint = ", ".join(f"{p} = {label}" for p, label in labels.items())
        lines.append(f"Answer from {q['min']} to {q['max']}" + (f" ({hint})." if hint else "."))
    else:
        lines.append("Please type your answer.")
    if not q.get("required", True):
        lines[-1] += " (optional)"
        buttons.append(Button("Skip", payload("skip")))
    if can_go_back:
        buttons.append(Button("Back", payload("go_back")))
    if previous_answer is not None:
        lines.append(f"Your current answer: {previous_answer}")
    if first_time_hint:
        lines.append(COMMANDS_HELP)
    return BotMessage("\n".join(lines), tuple(buttons))


def format_value(value: Any, status: str) -> str:
    """An answer as the citizen sees it in summaries."""
    if status == "skipped":
        return "(skipped)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


def summary(rows: list[tuple[int, str, str]]) -> BotMessage:
    """The end-of-consultation summary, with submit and change buttons."""
    lines = ["Here is a summary of your answers:"]
    lines += [f"{number}. {text}\n   → {answer}" for number, text, answer in rows]
    lines.append("Would you like to submit them, or change one first?")
    return BotMessage("\n".join(lines), (Button("Submit my answers", payload("submit")),
                                         Button("Change an answer", payload("change_answer"))))


def change_menu(rows: list[tuple[int, str, str]]) -> BotMessage:
    """Which answer to change: the questions as buttons."""
    buttons = tuple(Button(f"{number}. {_shorten(text, 40)}", payload("choose",
                                                                     choice=f"change:{qid}"))
                    for number, qid, text in rows)
    return BotMessage("Which answer would you like to change? Press it or type its number.",
                      buttons)


def quote_consent(agency: str) -> BotMessage:
    """Ask whether the citizen's words may be quoted anonymously."""
    return BotMessage(
        f"One last thing: may {agency} quote your words anonymously in reports "
        "(without anything that identifies you)?",
        (Button("Yes, you may quote me", payload("affirm")),
         Button("No, please don't", payload("deny"))))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def text(message: str, *buttons: Button) -> BotMessage:
    """A plain message."""
    return BotMessage(message, tuple(buttons))
