"""Property-based tests of what the secret key signs, seals and pseudonymises.

- Pseudonyms (``bot.store.pseudonym.participant_key``): 64 hex digits for any sender id
  (lone surrogates included), the same every time, different for another sender, channel
  or secret key.
- Signed references in buttons (``bot.dialogue.refs``): ``verify(sign(id)) == id``; any
  other text, an altered reference, another owner's or another key's is refused (None),
  never an exception. Through the conversation engine: pressing "That didn't answer it"
  with a made-up or someone else's reference changes nothing and gets the same reply.
- Sealed Telegram values (``bot.telegram.sealed``): ``open(seal(x)) == x``; an altered
  token, another key's or any other text raises ``SealError``, nothing else.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.config import Settings
from bot.dialogue import refs
from bot.dialogue.engine import MISSED, ConversationEngine, query_button_reply
from bot.dialogue.messages import UserTurn
from bot.store.db import migrate, session_scope
from bot.store.models import KnowledgeQuery
from bot.store.pseudonym import participant_key
from bot.telegram.sealed import Sealer, SealError
from tests.unit.properties import report_outcomes, tally  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("report_outcomes")

SECRETS = st.binary(min_size=16, max_size=64)
CHANNELS = st.sampled_from(["rest", "telegram", "web", "socketio"])
#: Any text, lone surrogates too (a JSON body can carry "\ud800").
ANY_TEXT = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=60)
HEX = set(string.hexdigits.lower())


# ---------------------------------------------------------------------------- pseudonyms
@given(SECRETS, CHANNELS, ANY_TEXT, ANY_TEXT)
@example(b"k" * 16, "rest", "\ud800", "\udfff")
def test_pseudonyms_are_stable_hex_and_tell_senders_apart(secret: bytes, channel: str,
                                                         sender: str, other: str) -> None:
    key = participant_key(secret, channel, sender)
    assert len(key) == 64 and set(key) <= HEX
    assert participant_key(secret, channel, sender) == key
    assert (participant_key(secret, channel, other) == key) == (other == sender)
    tally("pseudonym", "64 hex digits")


@given(SECRETS, SECRETS, CHANNELS, CHANNELS, st.text(max_size=30))
def test_pseudonyms_differ_across_channels_and_keys(secret: bytes, other_secret: bytes,
                                                    channel: str, other_channel: str,
                                                    sender: str) -> None:
    key = participant_key(secret, channel, sender)
    assert (participant_key(secret, other_channel, sender) == key) == (other_channel == channel)
    assert (participant_key(other_secret, channel, sender) == key) == (other_secret == secret)
    tally("pseudonym across channels and keys", "distinct")


# ---------------------------------------------------------------------------- signed refs
IDS = st.integers(0, 2**63 - 1)
SCOPES = st.text(max_size=80).map(lambda owner: f"knowledge-query:{owner}")


@given(SECRETS, SCOPES, IDS)
def test_a_signed_reference_verifies_to_its_id(secret: bytes, scope: str, row_id: int) -> None:
    ref = refs.sign(secret, scope, row_id)
    assert refs.verify(secret, scope, ref) == row_id
    tally("signed reference", "verified")


@given(SECRETS, SCOPES, IDS, st.data())
def test_an_altered_reference_is_refused(secret: bytes, scope: str, row_id: int,
                                         data: st.DataObject) -> None:
    ref = refs.sign(secret, scope, row_id)
    at = data.draw(st.integers(0, len(ref)))
    cut = data.draw(st.integers(0, 3))
    altered = ref[:at] + data.draw(st.text(max_size=3)) + ref[at + cut:]
    assume(altered != ref)
    assert refs.verify(secret, scope, altered) is None, altered
    tally("altered reference", "refused")


@given(SECRETS, SECRETS, SCOPES, SCOPES, IDS)
def test_another_owners_or_keys_reference_is_refused(secret: bytes, other_secret: bytes,
                                                     scope: str, other_scope: str,
                                                     row_id: int) -> None:
    ref = refs.sign(secret, scope, row_id)
    assert (refs.verify(secret, other_scope, ref) is None) == (other_scope != scope)
    assert (refs.verify(other_secret, scope, ref) is None) == (other_secret != secret)
    tally("another owner's or key's reference", "refused")


@given(SECRETS, SCOPES, st.one_of(ANY_TEXT, st.integers(), st.none(), st.binary(),
                                  st.lists(st.integers(), max_size=2)))
@example(b"k" * 16, "knowledge-query:x", "².0123456789abcdef0123")
@example(b"k" * 16, "knowledge-query:x", "1.ä123456789abcdef0123")
@example(b"k" * 16, "knowledge-query:x", "9" * 5000 + ".0123456789abcdef0123")
@example(b"k" * 16, "knowledge-query:x", "1.\ud800")
def test_anything_else_is_refused_without_an_exception(secret: bytes, scope: str,
                                                       ref: object) -> None:
    assert refs.verify(secret, scope, ref) is None
    tally("made-up reference", "refused")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> ConversationEngine:
    """The conversation engine on a store of its own (no knowledge index needed)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('signing') / 'refs.db'}"
    migrate(url)
    return ConversationEngine(Settings(database_url=url, secret_key=b"s" * 32))


def _press(engine: ConversationEngine, sender: str, ref: str) -> str:
    turn = UserTurn(sender_id=sender, channel="rest", text="", intent="choose",
                    confidence=1.0, entities={"choice": f"{MISSED}{ref}"},
                    message_id=f"press-{sender}-{hash(ref)}")
    result = engine.handle(turn, None)
    return " ".join(message.text for message in result.messages)


@given(ANY_TEXT)
@example("².0123456789abcdef0123")
@example("1.\u00e4123456789abcdef0123")
def test_pressing_a_made_up_or_someone_elses_reference_changes_nothing(
        engine: ConversationEngine, forged: str) -> None:
    url = engine.settings.database_url
    with session_scope(url) as session:
        query = KnowledgeQuery(participation_id=None, question_key=None, text="Open Sundays?",
                               collections=[], answered=True, hits=[])
        session.add(query)
        session.flush()
        owner = UserTurn(sender_id="owner", channel="rest", text="", intent=None,
                         confidence=1.0, entities={}, message_id="m")
        real = engine.query_ref(owner, query.id)
        query_id = query.id
    expected = query_button_reply(MISSED, None)
    assume(forged != real)
    assert _press(engine, "owner", forged) == expected
    assert _press(engine, "someone-else", real) == expected
    with session_scope(url) as session:
        assert session.scalar(select(KnowledgeQuery.disputed)
                              .where(KnowledgeQuery.id == query_id)) is False
    assert _press(engine, "owner", real) == expected
    with session_scope(url) as session:
        assert session.scalar(select(KnowledgeQuery.disputed)
                              .where(KnowledgeQuery.id == query_id)) is True
    tally("engine: forged and foreign references", "nothing changed")


# ---------------------------------------------------------------------------- sealed values
@given(SECRETS, st.text(max_size=200))
def test_an_opened_seal_is_the_value_sealed(secret: bytes, value: str) -> None:
    sealer = Sealer(secret)
    token = sealer.seal(value)
    assert sealer.open(token) == value and token != sealer.seal(value)  # a fresh IV
    tally("sealed value", "opened")


@given(SECRETS, st.integers(-(10**15), 10**15))
def test_a_sealed_chat_id_opens_to_the_chat_id(secret: bytes, chat_id: int) -> None:
    sealer = Sealer(secret)
    assert sealer.open_chat(sealer.seal_chat(chat_id)) == chat_id
    tally("sealed chat id", "opened")


@given(SECRETS, st.text(max_size=50), st.data())
def test_an_altered_or_foreign_seal_raises_seal_error(secret: bytes, value: str,
                                                      data: st.DataObject) -> None:
    sealer = Sealer(secret)
    other = Sealer(data.draw(SECRETS.filter(lambda s: s != secret)))
    token = sealer.seal(value)  # a random IV: the token differs from run to run
    at = data.draw(st.integers(0, len(token) - 1))
    altered = token[:at] + data.draw(st.text(min_size=1, max_size=2)) + token[at + 1:]
    attempts = [(token, other)] + ([(altered, sealer)] if altered != token else [])
    for attempt, opener in attempts:
        try:
            opened = opener.open(attempt)
        except SealError as error:
            assert "CODESIGN_SECRET_KEY" in str(error)
            tally("altered or foreign seal", "SealError")
        else:  # base64 decoding ignores some changes (padding): same token, same value
            assert opener is sealer and opened == value
            tally("altered or foreign seal", "same token after decoding")


@given(SECRETS, ANY_TEXT)
@example(b"k" * 16, "gAAAAA")
def test_any_text_is_not_a_seal(secret: bytes, text: str) -> None:
    sealer = Sealer(secret)
    with pytest.raises(SealError):
        sealer.open(text)
    with pytest.raises(SealError):
        sealer.open_chat(text)
    tally("made-up seal", "SealError")


def test_a_sealed_value_that_is_no_chat_id_raises_seal_error(tmp_path: Path) -> None:
    sealer = Sealer(b"k" * 16)
    for value in ("twelve", "²", "9" * 5000, ""):
        with pytest.raises(SealError, match="no number"):
            sealer.open_chat(sealer.seal(value))
