"""Topics as the customer's job to be done: discovered, never hand-listed.

`discover` clusters message embeddings (k-means, seeded, so the same input
and seed give the same topics) and names each cluster by its distinctive
terms (class-based TF-IDF, as BERTopic does: a term's frequency in the
cluster against its frequency over all clusters). `assign_terms` puts a new
message in the nearest topic by those term weights (cheap enough to run on
every ingested batch); `assign_embeddings` uses the centroids when
embeddings are at hand. Pure functions: no storage, no model loading.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from rapport.analysis.text import Prepared

#: Tokens that say nothing about a job to be done.
NOISE = frozenset(
    {
        "@user",
        "http",
        "https",
        "rt",
        "amp",
        "dm",
        "pls",
        "plz",
        "please",
        "thanks",
        "thank",
        "hi",
        "hey",
        "hello",
        "just",
        "im",
        "i'm",
        "it's",
        "don't",
        "can't",
        "i've",
        "i'll",
        "you're",
        "we're",
        "got",
        "get",
        "u",
        "ur",
        "ve",
        "ll",
        "let",
        "know",
        "like",
        "help",
        "need",
        "does",
        "did",
        "want",
        "today",
        "day",
        "time",
        "way",
        "going",
        "really",
        "make",
        "sure",
        "look",
        "sorry",
        "hear",
        "happy",
        "glad",
        "send",
        "us",
    }
)
#: Topic term weights kept per topic (for naming and for assignment).
TERMS_PER_TOPIC = 30
#: Below this term-similarity a message gets no topic (it is about nothing
#: the topics know).
MIN_TERM_SCORE = 0.08
MIN_COSINE = 0.25


def topic_terms(p: Prepared) -> list[str]:
    """The content words of a message, and its bigrams of content words."""
    words = [
        t
        for t in p.tokens
        if len(t) > 2 and t.isalpha() and t not in ENGLISH_STOP_WORDS and t not in NOISE
    ]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@dataclass
class TopicDraft:
    """A discovered topic before it is stored."""

    key: int
    label: str
    terms: dict[str, float]
    centroid: list[float]
    members: list[int] = field(default_factory=list)


def choose_k(n: int) -> int:
    """Clusters for ``n`` messages: about one per 150 messages, 2..30."""
    return max(2, min(30, round(n / 150))) if n >= 20 else 1


def class_tfidf(
    docs_terms: Sequence[Sequence[str]], labels: Sequence[int]
) -> dict[int, Counter[str]]:
    """c-TF-IDF weights per cluster: tf(term, cluster) / |cluster terms| ×
    log(1 + mean cluster size in terms / frequency of the term everywhere),
    leaving out terms that recur in more than a third of the clusters."""
    per: dict[int, Counter[str]] = {}
    for terms, label in zip(docs_terms, labels, strict=True):
        if label < 0:
            continue
        per.setdefault(label, Counter()).update(terms)
    overall: Counter[str] = Counter()
    spread: Counter[str] = Counter()
    for counts in per.values():
        overall.update(counts)
        spread.update(t for t, c in counts.items() if c >= 2)
    avg = sum(overall.values()) / max(1, len(per))
    # a term frequent in many clusters (a brand's own name, "flight" at an
    # airline) names none of them
    too_common = max(2, len(per) // 3) if len(per) >= 4 else len(per) + 1
    weights: dict[int, Counter[str]] = {}
    for label, counts in per.items():
        total = sum(counts.values()) or 1
        weights[label] = Counter(
            {
                t: (c / total) * math.log(1 + avg / overall[t])
                for t, c in counts.items()
                if c >= 2 and spread[t] <= too_common
            }
        )
    return weights


def _name(weights: Counter[str]) -> str:
    picked: list[str] = []
    for term, _ in weights.most_common(12):
        if any(term in p or p in term for p in picked):
            continue
        picked.append(term)
        if len(picked) == 3:
            break
    return " · ".join(picked) if picked else "miscellaneous"


def discover(
    prepared: Sequence[Prepared],
    embeddings: npt.NDArray[np.float32],
    *,
    seed: int = 0,
    k: int | None = None,
    min_size: int | None = None,
) -> list[TopicDraft]:
    """Topics of these messages: k-means on their (L2-normalised) embeddings,
    clusters smaller than ``min_size`` dropped (their messages stay without
    topic), each named by its top c-TF-IDF terms."""
    n = len(prepared)
    if n == 0:
        return []
    k = k or choose_k(n)
    min_size = min_size if min_size is not None else max(3, n // 200)
    if k <= 1:
        labels = np.zeros(n, dtype=np.int64)
    else:
        km = KMeans(n_clusters=k, random_state=seed, n_init=4)
        labels = km.fit_predict(np.asarray(embeddings, dtype=np.float64))
    sizes = Counter(int(x) for x in labels)
    labels = np.array([x if sizes[int(x)] >= min_size else -1 for x in labels])
    terms = [topic_terms(p) for p in prepared]
    weights = class_tfidf(terms, [int(x) for x in labels])
    drafts: list[TopicDraft] = []
    for label in sorted(weights, key=lambda lb: (-sizes[lb], lb)):
        members = [i for i in range(n) if labels[i] == label]
        centroid = np.asarray(embeddings[members], dtype=np.float64).mean(axis=0)
        norm = float(np.linalg.norm(centroid)) or 1.0
        top = weights[label].most_common(TERMS_PER_TOPIC)
        drafts.append(
            TopicDraft(
                key=len(drafts),
                label=_name(weights[label]),
                terms={t: round(w, 6) for t, w in top},
                centroid=[round(float(v) / norm, 6) for v in centroid],
                members=members,
            )
        )
    return drafts


@dataclass(frozen=True)
class TopicMatch:
    index: int
    score: float
    evidence: tuple[str, ...]


class TermIndex:
    """Topics' term weights as one matrix, for nearest-topic assignment of a
    whole batch with one sparse product."""

    def __init__(self, topics: Sequence[dict[str, float]]) -> None:
        self.n = len(topics)
        self.columns: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for i, terms in enumerate(topics):
            for term, w in terms.items():
                j = self.columns.setdefault(term, len(self.columns))
                rows.append(j)
                cols.append(i)
                vals.append(w)
        self.weights = sp.csr_matrix(
            (np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(len(self.columns), self.n)
        )
        self.dense = np.asarray(self.weights.todense())
        norms = np.sqrt((self.dense**2).sum(axis=0))
        self.norms = np.where(norms > 0, norms, 1.0)

    def match(self, p: Prepared) -> TopicMatch | None:
        return self.match_batch([p])[0]

    def match_batch(self, prepared: Sequence[Prepared]) -> list[TopicMatch | None]:
        """Cosine between each message's (binary) topic terms and each topic's
        weights; the best topic above `MIN_TERM_SCORE`, with the shared terms."""
        out: list[TopicMatch | None] = [None] * len(prepared)
        if not self.n or not prepared:
            return out
        get = self.columns.get
        indptr = [0]
        indices: list[int] = []
        sizes = np.zeros(len(prepared))
        for r, p in enumerate(prepared):
            terms = set(topic_terms(p))
            sizes[r] = len(terms)
            indices.extend(j for j in map(get, terms) if j is not None)
            indptr.append(len(indices))
        if not indices:
            return out
        m = sp.csr_matrix(
            (np.ones(len(indices)), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(prepared), len(self.columns)),
        )
        scores = np.asarray((m @ self.weights).todense()) / self.norms
        best = scores.argmax(axis=1)
        best_score = scores[np.arange(len(prepared)), best] / np.sqrt(np.maximum(sizes, 1))
        terms_of = None
        for r in np.nonzero(best_score >= MIN_TERM_SCORE)[0].tolist():
            if terms_of is None:
                terms_of = list(self.columns)
            t = int(best[r])
            row = m.indices[m.indptr[r] : m.indptr[r + 1]]
            shared = sorted(terms_of[j] for j in row.tolist() if self.dense[j, t] > 0)
            out[r] = TopicMatch(t, round(float(best_score[r]), 4), tuple(shared[:5]))
        return out


def assign_embeddings(
    embeddings: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]
) -> list[tuple[int, float] | None]:
    """Nearest centroid by cosine (rows are L2-normalised), or None below `MIN_COSINE`."""
    if not len(centroids) or not len(embeddings):
        return [None] * len(embeddings)
    sims = np.asarray(embeddings, dtype=np.float32) @ np.asarray(centroids, dtype=np.float32).T
    best = sims.argmax(axis=1)
    out: list[tuple[int, float] | None] = []
    for row, col in enumerate(best):
        s = float(sims[row, col])
        out.append((int(col), round(s, 4)) if s >= MIN_COSINE else None)
    return out
