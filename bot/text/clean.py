"""Cleaning a citizen's text before it is stored or shown.

``clean`` keeps everything a person can mean and drops what only hides, garbles or
breaks text:

- line breaks are kept (long answers have paragraphs) and made uniform: CR LF, CR, NEL
  and the Unicode line and paragraph separators become ``\\n``; tabs are kept;
- every other control character (C0, DEL, C1) is removed, and so are lone surrogates
  (they cannot be encoded: a database or a JSON encoder would fail on them) and
  non-characters (U+FFFE, U+FDD0, …);
- invisible characters that carry no meaning in a message are removed: the zero-width
  space, word joiner, byte-order mark, soft hyphen and similar, and the bidirectional
  embedding, override and isolate controls (they can make text display in another
  order than it reads: "Trojan source"). The left-to-right and right-to-left marks stay;
- tag characters (invisible ASCII look-alikes, used to smuggle text) are removed except
  in an emoji flag sequence (🏴 + tags + cancel tag: Scotland, Wales, …);
- a run of zero-width joiners or non-joiners, or of variation selectors, is cut to one
  (Persian, Indic scripts and emoji need one at a time; thousands are abuse);
- the result is in Unicode NFC. Not NFKC: that changes what the person wrote
  ("m²" → "m2", "½" → "1⁄2", "①" → "1", full-width letters); NFC only picks one of
  equivalent encodings of the same text, so a word typed on two keyboards compares equal.

``clean`` is idempotent. The Rasa server applies the same rules before NLU
(``rasa_ext/clean.py``, a twin: the Rasa image has no ``bot`` package; a test keeps the
two in step).
"""

from __future__ import annotations

import re
import unicodedata

_LINE_BREAKS = {0x0D: "\n", 0x85: "\n", 0x2028: "\n", 0x2029: "\n"}
_KEPT_CONTROLS = {0x09, 0x0A}
#: Invisible format characters with no meaning in a message, and the bidi controls that
#: reorder what follows them (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI).
_INVISIBLE = [0x00AD, 0x180E, 0x200B, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF,
              0xFFF9, 0xFFFA, 0xFFFB, *range(0x202A, 0x202F), *range(0x2066, 0x2070)]
_NONCHARACTERS = [*range(0xFDD0, 0xFDF0),
                  *(plane * 0x10000 + low for plane in range(17) for low in (0xFFFE, 0xFFFF))]


def _removal_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for point in [*range(0x20), *range(0x7F, 0xA0)]:
        if point not in _KEPT_CONTROLS:
            table[point] = None
    for point in [*range(0xD800, 0xE000), *_INVISIBLE, *_NONCHARACTERS]:
        table[point] = None
    table.update(_LINE_BREAKS)
    return table


_TABLE = _removal_table()
#: An emoji tag sequence (kept) or any other tag character (removed).
_TAGS = re.compile("(\U0001F3F4[\U000E0020-\U000E007E]{1,32}\U000E007F)|[\U000E0000-\U000E007F]")
#: Runs of joiners, or of variation selectors, longer than one.
_RUNS = re.compile("([\u200c\u200d])[\u200c\u200d]+|"
                   "([\ufe00-\ufe0f\U000E0100-\U000E01EF])[\ufe00-\ufe0f\U000E0100-\U000E01EF]+")


def clean(text: str) -> str:
    """``text`` with the rules above applied (see the module's docstring).

    Args:
        text: what the citizen typed, as received.

    Returns:
        The cleaned text in NFC; ``clean(clean(t)) == clean(t)``.
    """
    text = text.replace("\r\n", "\n").translate(_TABLE)
    text = _TAGS.sub(lambda found: found.group(1) or "", text)
    text = _RUNS.sub(lambda found: found.group(1) or found.group(2), text)
    return unicodedata.normalize("NFC", text)
