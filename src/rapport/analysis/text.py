"""Text preparation shared by every stage: cleaning, truncation, tokens.

Pure functions; the same code runs at training time (`rapport.analysis.training`)
and at analysis time, so features mean the same thing in both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Characters of a message that the stages read; longer texts are truncated
#: (with a note in the evidence) so one 100 kB paste cannot stall a batch.
MAX_ANALYSED_CHARS = 5_000

_URL = re.compile(r"(?:https?://|www\.)\S+")
_MENTION = re.compile(r"@\w+")
_ENTITY = re.compile(r"&(amp|lt|gt|quot|#39|#34);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'", "#34": '"'}
#: `@user`, emoticons, words (with inner apostrophes), numbers, and any other
#: single symbol (punctuation, each emoji code point) as its own token; a
#: newline separates the messages of a batch.
_TOKEN = re.compile(
    r"@user|(?:[:;=8][\-o*']?[)\](\[dDpP/\\|])(?!\w)|[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[^\w\s]|\n",
    re.UNICODE,
)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class Prepared:
    """One message ready for the stages."""

    #: The text as read (after truncation), whitespace collapsed, original case.
    text: str
    #: Lower-cased, URLs → `http`, mentions → `@user`.
    normalised: str
    tokens: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def has_letters(self) -> bool:
        return _LETTER.search(self.text) is not None


def prepare_batch(texts: Sequence[str]) -> list[Prepared]:
    """`prepare` for many texts at once: each regular expression runs once
    over the whole batch (joined by newlines), which is several times faster
    than message by message."""
    if not texts:
        return []
    notes: list[tuple[str, ...]] = []
    kept: list[str] = []
    for text in texts:
        if len(text) > MAX_ANALYSED_CHARS:
            notes.append(
                (
                    f"text truncated: {len(text):,} characters, "
                    f"the first {MAX_ANALYSED_CHARS:,} analysed",
                )
            )
            text = text[:MAX_ANALYSED_CHARS]
        else:
            notes.append(())
        kept.append(" ".join(text.split()))
    big = "\n".join(kept)
    if "&" in big:
        big = _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], big)
    if not unicodedata.is_normalized("NFC", big):
        big = unicodedata.normalize("NFC", big)
    cleaned = big.split("\n")
    norm = _URL.sub(" http ", big.lower())
    norm = _MENTION.sub("@user", norm).replace("’", "'")
    normalised = norm.split("\n")
    tokens: list[tuple[str, ...]] = []
    current: list[str] = []
    for tok in _TOKEN.findall(norm):
        if tok == "\n":
            tokens.append(tuple(current))
            current = []
        else:
            current.append(tok)
    tokens.append(tuple(current))
    return [
        Prepared(c.strip(), n.strip(), t, nt)
        for c, n, t, nt in zip(cleaned, normalised, tokens, notes, strict=True)
    ]


def prepare(text: str) -> Prepared:
    return prepare_batch([text])[0]
