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
    log(1 + mean cluster size in terms / frequency of the term everywhere)."""
    per: dict[int, Counter[str]] = {}
    for terms, label in zip(docs_terms, labels, strict=True):
        if label < 0:
            continue
        per.setdefault(label, Counter()).update(terms)
    overall: Counter[str] = Counter()
    for counts in per.values():
        overall.update(counts)
    avg = sum(overall.values()) / max(1, len(per))
    weights: dict[int, Counter[str]] = {}
    for label, counts in per.items():
        total = sum(counts.values()) or 1
        weights[label] = Counter(
            {t: (c / total) * math.log(1 + avg / overall[t]) for t, c in counts.items() if c >= 2}
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
    """Term → topics inverted index for fast nearest-topic assignment."""

    def __init__(self, topics: Sequence[dict[str, float]]) -> None:
        self.n = len(topics)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        self.norms = []
        for i, terms in enumerate(topics):
            self.norms.append(math.sqrt(sum(w * w for w in terms.values())) or 1.0)
            for term, w in terms.items():
                self.postings.setdefault(term, []).append((i, w))

    def match(self, p: Prepared) -> TopicMatch | None:
        terms = set(topic_terms(p))
        if not terms or not self.n:
            return None
        scores = [0.0] * self.n
        hits: list[list[str]] = [[] for _ in range(self.n)]
        postings = self.postings
        for term in terms:
            for i, w in postings.get(term, ()):
                scores[i] += w
                hits[i].append(term)
        best = max(range(self.n), key=lambda i: scores[i] / self.norms[i])
        # cosine between the message's binary term vector and the topic's weights
        score = scores[best] / self.norms[best] / math.sqrt(len(terms))
        if score < MIN_TERM_SCORE:
            return None
        return TopicMatch(best, round(score, 4), tuple(sorted(hits[best])[:5]))


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
