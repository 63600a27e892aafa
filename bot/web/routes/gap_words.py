"""Acting on the words the documents don't use (admins, from the Knowledge gaps pages):
map a word to a document term in the collection's glossary, mark it "not something we
do", or undo that mark. Each redirects back to the page it came from with a message."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from bot.audit.trail import Action
from bot.knowledge import glossaries
from bot.knowledge.glossary import GlossaryError, parse_yaml
from bot.knowledge.ingest import check_collection
from bot.knowledge.text import folded
from bot.review import gap_words
from bot.web.auth import Admin
from bot.web.routes.review_common import DbSession, admin_router, back_in_review, done, flash

router = admin_router()
GAPS_PATH = "/review/gaps"
MAX_FIELD = 200
HEADER = "# Words residents use (left) for the words the documents use (right).\n"


def _back(target: str) -> RedirectResponse:
    """303 to ``target`` when it is a page of the review area, else the gaps page."""
    return back_in_review(target, GAPS_PATH)


def _checked(request: Request, collection: str, word: str) -> tuple[str, str] | None:
    """The collection and the word as stored, or None (with an error message flashed)."""
    try:
        check_collection(collection[:MAX_FIELD])
    except ValueError:
        flash(request, "That is not a collection name: nothing was changed.", "error")
        return None
    shown = gap_words.normalised_word(word[:MAX_FIELD])
    if shown is None:
        flash(request, "Give one word (not a common word like “the”): nothing was changed.",
              "error")
        return None
    return collection, shown


def appended(text: str, word: str, term: str) -> str:
    """The glossary ``text`` with the entry ``word: term`` added at its end."""
    body = text if text.strip() else HEADER
    if not body.endswith("\n"):
        body += "\n"
    return f"{body}{json.dumps(word, ensure_ascii=False)}: {json.dumps(term, ensure_ascii=False)}\n"


@router.post("/admin/gap-words/map")
def map_word(request: Request, session: DbSession, admin: Admin,
             collection: Annotated[str, Form()] = "", word: Annotated[str, Form()] = "",
             term: Annotated[str, Form()] = "",
             next: Annotated[str, Form()] = "") -> RedirectResponse:
    """Add ``word: term`` to the collection's glossary (kept as written, the general
    glossary switched on or off as it was)."""
    checked = _checked(request, collection, word)
    if checked is None:
        return _back(next)
    collection, word = checked
    term = " ".join(term.split())[:MAX_FIELD]
    if not term:
        flash(request, f"Give the documents' word or phrase for “{word}”: nothing was "
                       "changed.", "error")
        return _back(next)
    row = glossaries.stored(session, collection)
    text, use_general = (row.text, row.use_general) if row is not None else ("", True)
    try:
        own = parse_yaml(text, "glossary")
    except GlossaryError as exc:
        flash(request, f"The glossary of {collection} has a mistake, so nothing was added: "
                       f"{exc}. Correct it on the Knowledge page.", "error")
        return _back(next)
    if any(folded(entry.resident).lower() == word for entry in own.entries):
        flash(request, f"The glossary of {collection} already has “{word}”: change it on the "
                       "Knowledge page.", "error")
        return _back(next)
    try:
        entries = len(glossaries.save(session, collection, appended(text, word, term),
                                      use_general=use_general))
    except GlossaryError as exc:
        flash(request, f"“{word}” was not added: {exc}.", "error")
        return _back(next)
    message = f"Added “{word}: {term}” to the glossary of {collection}."
    if not gap_words.uses(gap_words.document_words(session, collection), term):
        message += (f" Note: the documents of {collection} do not use “{term}”, so the "
                    "bot will not find an answer with it until they do.")
    done(request, session, admin, Action.KNOWLEDGE_GAP_WORD, f"{collection}/{word}",
         message + " The bot uses it within a few seconds.", change="map", entries=entries)
    return _back(next)


@router.post("/admin/gap-words/not-offered")
def not_offered(request: Request, session: DbSession, admin: Admin,
                collection: Annotated[str, Form()] = "", word: Annotated[str, Form()] = "",
                next: Annotated[str, Form()] = "") -> RedirectResponse:
    """Mark a word "not something we do": it is listed apart from then on."""
    checked = _checked(request, collection, word)
    if checked is None:
        return _back(next)
    collection, word = checked
    if not gap_words.mark_not_offered(session, collection, word, admin.email):
        flash(request, f"“{word}” was already marked “not something we do” in {collection}.")
        return _back(next)
    done(request, session, admin, Action.KNOWLEDGE_GAP_WORD, f"{collection}/{word}",
         f"Marked “{word}” as not something we do ({collection}).", change="not_offered")
    return _back(next)


@router.post("/admin/gap-words/undo")
def undo(request: Request, session: DbSession, admin: Admin,
         collection: Annotated[str, Form()] = "", word: Annotated[str, Form()] = "",
         next: Annotated[str, Form()] = "") -> RedirectResponse:
    """Undo a "not something we do" mark: the word is listed to act on again."""
    checked = _checked(request, collection, word)
    if checked is None:
        return _back(next)
    collection, word = checked
    if not gap_words.unmark(session, collection, word):
        flash(request, f"“{word}” was not marked in {collection}: nothing was changed.",
              "error")
        return _back(next)
    done(request, session, admin, Action.KNOWLEDGE_GAP_WORD, f"{collection}/{word}",
         f"“{word}” is listed again ({collection}).", change="undo")
    return _back(next)
