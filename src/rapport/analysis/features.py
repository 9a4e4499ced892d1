"""The fast tier's features: word unigrams and bigrams (sublinear TF-IDF,
L2-normalised) plus a few dense cues (VADER lexicon valence with negation,
question and exclamation marks, question openers, length).

One `Featurizer` serves training and analysis. A batch is featurised with
one dictionary lookup per token (a C-level `map`); bigrams are found by
`searchsorted` over integer pair keys and everything else is numpy, so no
Python code runs per token or per term.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise, repeat

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from rapport.analysis.text import Prepared

NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "cannot",
        "nothing",
        "nobody",
        "none",
        "nor",
        "neither",
        "without",
        "hardly",
        "dont",
        "cant",
        "wont",
        "didnt",
        "doesnt",
        "isnt",
        "wasnt",
        "aint",
    }
)
OPENERS = frozenset(
    {
        "what",
        "when",
        "where",
        "who",
        "why",
        "how",
        "which",
        "is",
        "are",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "should",
        "any",
        "anyone",
        "has",
        "have",
    }
)
#: Names of the dense features appended after the vocabulary.
DENSE = (
    "lexicon_positive",
    "lexicon_negative",
    "question_mark",
    "exclamation",
    "question_opener",
    "length",
)
_N_SCALAR = -0.74  # VADER's dampened flip of a negated word


@dataclass(frozen=True)
class TokenCues:
    """Per token of a transformed batch (in reading order): its message, its
    unigram id (-1 when unknown) and its lexicon valence after negation; the
    dense lexicon features are sums of these valences."""

    doc: npt.NDArray[np.int64]
    uni: npt.NDArray[np.int64]
    valence: npt.NDArray[np.float64]
    negated: npt.NDArray[np.bool_]


@dataclass
class Featurizer:
    """Unigram vocabulary, bigram pair keys, IDF and per-unigram cues."""

    unigrams: list[str]
    #: Sorted ``a * len(unigrams) + b`` keys of the kept bigrams `a b`.
    bigram_keys: npt.NDArray[np.int64]
    idf: npt.NDArray[np.float64]
    #: VADER-style valence of each unigram (0 when not in the lexicon).
    valence: npt.NDArray[np.float64]
    _index: dict[str, int] = field(init=False, repr=False)
    _negator: npt.NDArray[np.bool_] = field(init=False, repr=False)
    _opener: npt.NDArray[np.bool_] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {t: i for i, t in enumerate(self.unigrams)}
        self._negator = np.array(
            [t in NEGATORS or t.endswith("n't") for t in self.unigrams], dtype=bool
        )
        self._opener = np.array([t in OPENERS for t in self.unigrams], dtype=bool)
        self._q = self._index.get("?", -1)
        self._x = self._index.get("!", -1)

    def token_id(self, token: str) -> int:
        """The unigram column of ``token`` (-1 when it is not in the vocabulary)."""
        return self._index.get(token, -1)

    @property
    def n_terms(self) -> int:
        return len(self.unigrams) + len(self.bigram_keys)

    @property
    def n_features(self) -> int:
        return self.n_terms + len(DENSE)

    def feature_name(self, index: int) -> str:
        n_uni = len(self.unigrams)
        if index < n_uni:
            return self.unigrams[index]
        if index < self.n_terms:
            key = int(self.bigram_keys[index - n_uni])
            return f"{self.unigrams[key // n_uni]} {self.unigrams[key % n_uni]}"
        return DENSE[index - self.n_terms]

    def transform(self, prepared: Sequence[Prepared]) -> sp.csr_matrix:
        """The feature matrix of ``prepared`` (one row per message)."""
        return self.transform_with_cues(prepared)[0]

    def transform_with_cues(self, prepared: Sequence[Prepared]) -> tuple[sp.csr_matrix, TokenCues]:
        """The feature matrix, and per token the lexicon valence behind its
        dense lexicon features (what evidence traces back to words)."""
        n_docs = len(prepared)
        n_uni = len(self.unigrams)
        lengths = np.fromiter((len(p.tokens) for p in prepared), dtype=np.int64, count=n_docs)
        tokens = [tok for p in prepared for tok in p.tokens]
        n_tok = len(tokens)
        doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        starts = np.zeros(n_docs, dtype=np.int64)
        if n_docs > 1:
            np.cumsum(lengths[:-1], out=starts[1:])
        uni = np.fromiter(map(self._index.get, tokens, repeat(-1)), dtype=np.int64, count=n_tok)
        # bigrams: both words known, same message, pair key in the sorted table
        if n_tok > 1 and len(self.bigram_keys):
            a, b = uni[:-1], uni[1:]
            ok = (a >= 0) & (b >= 0) & (doc[1:] == doc[:-1])
            keys = a[ok] * n_uni + b[ok]
            pos = np.searchsorted(self.bigram_keys, keys)
            pos[pos >= len(self.bigram_keys)] = 0
            hit = self.bigram_keys[pos] == keys
            bi_ids = n_uni + pos[hit]
            bi_doc = doc[:-1][ok][hit]
        else:
            bi_ids = bi_doc = np.zeros(0, dtype=np.int64)
        known = uni >= 0
        ids = np.concatenate([uni[known], bi_ids])
        owner = np.concatenate([doc[known], bi_doc])
        n_terms = self.n_terms
        key, counts = np.unique(owner * n_terms + ids, return_counts=True)
        rows = key // n_terms
        cols = key % n_terms
        vals = (1.0 + np.log(counts)) * self.idf[cols]
        norms = np.sqrt(np.bincount(rows, vals * vals, minlength=n_docs))
        vals /= np.where(norms > 0, norms, 1.0)[rows]
        cues = self._token_cues(uni, doc, starts)
        dense = self._dense(cues, starts, lengths)
        n_dense = len(DENSE)
        all_rows = np.concatenate([rows, np.repeat(np.arange(n_docs), n_dense)])
        all_cols = np.concatenate([cols, np.tile(np.arange(n_terms, n_terms + n_dense), n_docs)])
        all_vals = np.concatenate([vals, dense.ravel()])
        x = sp.csr_matrix((all_vals, (all_rows, all_cols)), shape=(n_docs, self.n_features))
        return x, cues

    def _token_cues(
        self,
        uni: npt.NDArray[np.int64],
        doc: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
    ) -> TokenCues:
        """Each token's lexicon valence, flipped (VADER-style) when one of the
        three tokens before it in its message is a negator."""
        if not len(uni):
            empty_f = np.zeros(0, dtype=np.float64)
            return TokenCues(doc, uni, empty_f, np.zeros(0, dtype=bool))
        known = uni >= 0
        safe = np.where(known, uni, 0)
        valence = np.where(known, self.valence[safe], 0.0)
        negator = known & self._negator[safe]
        cum = np.concatenate([[0], np.cumsum(negator)])
        pos = np.arange(len(uni))
        window = np.maximum(pos - 3, starts[doc])
        negated = ((cum[pos] - cum[window]) > 0) & (valence != 0)
        valence = np.where(negated, valence * _N_SCALAR, valence)
        return TokenCues(doc, uni, valence, negated)

    def _dense(
        self,
        cues: TokenCues,
        starts: npt.NDArray[np.int64],
        lengths: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.float64]:
        n_docs = len(lengths)
        out = np.zeros((n_docs, len(DENSE)), dtype=np.float64)
        uni, doc, valence = cues.uni, cues.doc, cues.valence
        if len(uni):
            out[:, 0] = np.log1p(np.bincount(doc, np.maximum(valence, 0), minlength=n_docs))
            out[:, 1] = np.log1p(np.bincount(doc, np.maximum(-valence, 0), minlength=n_docs))
            out[:, 2] = np.minimum(np.bincount(doc, uni == self._q, minlength=n_docs), 3) / 3
            out[:, 3] = np.minimum(np.bincount(doc, uni == self._x, minlength=n_docs), 3) / 3
            has = lengths > 0
            first = uni[starts[has]]
            out[has, 4] = np.where(first >= 0, self._opener[np.maximum(first, 0)], False)
        out[:, 5] = np.minimum(np.log1p(lengths) / 5, 1.5)
        return out


def build_featurizer(
    corpus: Sequence[Sequence[str]],
    lexicon: Mapping[str, float],
    *,
    min_df: int = 2,
) -> Featurizer:
    """Unigrams seen in at least ``min_df`` documents (and every lexicon word),
    bigrams of kept unigrams seen in at least ``min_df`` documents, with
    smoothed IDF as scikit-learn computes it."""
    df: dict[str, int] = {}
    for toks in corpus:
        for term in set(toks):
            df[term] = df.get(term, 0) + 1
    unigrams = sorted({t for t, n in df.items() if n >= min_df} | set(lexicon))
    index = {t: i for i, t in enumerate(unigrams)}
    n_uni = len(unigrams)
    bdf: dict[int, int] = {}
    for toks in corpus:
        ids = [index.get(t, -1) for t in toks]
        seen = {a * n_uni + b for a, b in pairwise(ids) if a >= 0 and b >= 0}
        for key in seen:
            bdf[key] = bdf.get(key, 0) + 1
    bigram_keys = np.array(sorted(k for k, n in bdf.items() if n >= min_df), dtype=np.int64)
    n = len(corpus)
    uni_df = np.array([df.get(t, 0) for t in unigrams], dtype=np.float64)
    bi_df = np.array([bdf[int(k)] for k in bigram_keys], dtype=np.float64)
    idf = np.log((1 + n) / (1 + np.concatenate([uni_df, bi_df]))) + 1.0
    valence = np.array([float(lexicon.get(t, 0.0)) for t in unigrams], dtype=np.float64)
    return Featurizer(unigrams, bigram_keys, idf, valence)
