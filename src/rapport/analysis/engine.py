"""The analysis of a batch of texts: every pure stage, in order, each with
its value, method and evidence.

    analyze_texts(["my flight got cancelled, refund me now!"], tier="fast")

- language: fastText lid.176 (`rapport.analysis.language`)
- sentiment: fast = linear model over word n-grams + lexicon cues;
  accurate = MiniLM sentence embedding stacked with the fast log-odds
- intent: linear model over the fast features (weakly supervised)
- urgency: a documented formula (`rapport.analysis.urgency`)
- topics: nearest discovered topic (term weights in the fast tier,
  embedding centroids in the accurate tier)
- custom intents: a team's own labels (`rapport.analysis.custom_intents`)

Nothing here touches storage; `rapport.analysis.service` stores the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from rapport.analysis import custom_intents, language, urgency
from rapport.analysis.features import DENSE, Featurizer, TokenCues
from rapport.analysis.loading import (
    LinearHead,
    accurate_model,
    fast_model,
    general_topics,
)
from rapport.analysis.text import Prepared, prepare_batch
from rapport.analysis.topics import TermIndex, assign_embeddings

#: Revision of how this module turns model outputs into values and evidence;
#: part of every stored row's model version, so `rapport reanalyze` re-runs
#: rows written by an older revision even when the models did not change.
#: 2: lexicon cues traced back to the words that carry them.
ENGINE_REVISION = 2

Tier = Literal["fast", "accurate"]
TIERS: tuple[str, ...] = ("fast", "accurate")
#: Below this share of the winning class the evidence says the call is weak.
_DENSE_NAMES = {
    "lexicon_positive": "positive words (lexicon)",
    "lexicon_negative": "negative words (lexicon)",
    "question_mark": "question mark",
    "exclamation": "exclamation marks",
    "question_opener": "opens like a question",
    "length": "message length",
}


@dataclass
class TopicSet:
    """The topics a message can be assigned to (one brand/channel scope)."""

    labels: list[str]
    ids: list[int | None]
    index: TermIndex
    centroids: npt.NDArray[np.float32]
    version: str

    @classmethod
    def build(
        cls,
        topics: Sequence[dict[str, Any]],
        version: str,
        ids: Sequence[int | None] | None = None,
    ) -> TopicSet:
        centroids = (
            np.array([t["centroid"] for t in topics], dtype=np.float32)
            if topics
            else np.zeros((0, 384), dtype=np.float32)
        )
        return cls(
            labels=[str(t["label"]) for t in topics],
            ids=list(ids) if ids is not None else [None] * len(topics),
            index=TermIndex([t["terms"] for t in topics]),
            centroids=centroids,
            version=version,
        )


_general: TopicSet | None = None


def general_topic_set() -> TopicSet:
    global _general
    if _general is None:
        model = general_topics()
        _general = TopicSet.build(model.topics, model.version)
    return _general


@dataclass
class Result:
    """One message's analysis."""

    language: str
    sentiment: str
    sentiment_score: float
    sentiment_confidence: float
    intent: str
    intent_confidence: float
    urgency: float
    topics: list[str]
    topic_ids: list[int]
    evidence: dict[str, list[str]]
    methods: dict[str, str]
    versions: dict[str, str]
    tier: str
    custom_intent: tuple[str, float] | None = None
    notes: list[str] = field(default_factory=list)

    def contract(self) -> dict[str, Any]:
        """The `rapport analyze` output fields (without `id`)."""
        out: dict[str, Any] = {
            "sentiment": self.sentiment,
            "sentiment_score": self.sentiment_score,
            "intent": self.intent,
            "urgency": self.urgency,
            "language": self.language,
            "topics": self.topics,
            "evidence": self.evidence,
        }
        if self.custom_intent is not None:
            out["custom_intent"] = {
                "label": self.custom_intent[0],
                "confidence": self.custom_intent[1],
            }
        return out

    @property
    def model_version(self) -> str:
        return "+".join(f"{k}:{v}" for k, v in sorted(self.versions.items()))


def _top_evidence(
    head: LinearHead,
    x: sp.csr_matrix,
    cues: TokenCues,
    labels: npt.NDArray[np.int64],
    fz: Featurizer,
    k: int = 3,
) -> list[list[str]]:
    """The words (and other cues) that pushed each row toward its label most.

    A feature's push is x_j × (w_j,label − mean_c w_j,c). The dense lexicon
    features are sums of the message's word valences, so their push is handed
    back to those words in proportion to each word's valence: "shame" and
    "poor" are named, not "negative words". The ?/! counts go to the `?`/`!`
    tokens. Per row, items pushing at least a fifth as hard as the strongest
    one are kept, at most ``k``, strongest first. Vectorised over the batch."""
    n_rows = x.shape[0]
    n_terms = fz.n_terms
    counts = np.diff(x.indptr)
    rows = np.repeat(np.arange(n_rows), counts)
    cols = x.indices.astype(np.int64)
    contrib = x.data * head.centred[cols, labels[rows]]
    # The dense lexicon pushes, per row, handed back to the words.
    pos_col, neg_col = (
        n_terms + DENSE.index("lexicon_positive"),
        n_terms + DENSE.index("lexicon_negative"),
    )
    pushes = {}
    for col in (pos_col, neg_col):
        at = cols == col
        per_row = np.zeros(n_rows)
        per_row[rows[at]] = contrib[at]
        contrib[at] = 0.0
        pushes[col] = per_row
    extra_rows: list[npt.NDArray[np.int64]] = []
    extra_cols: list[npt.NDArray[np.int64]] = []
    extra_vals: list[npt.NDArray[np.float64]] = []
    lexical = cues.valence != 0
    if lexical.any():
        t_doc, t_uni, t_val = cues.doc[lexical], cues.uni[lexical], cues.valence[lexical]
        for col, part in ((pos_col, np.maximum(t_val, 0)), (neg_col, np.maximum(-t_val, 0))):
            total = np.bincount(t_doc, part, minlength=n_rows)
            share = np.divide(part, total[t_doc], out=np.zeros_like(part), where=part > 0)
            extra_rows.append(t_doc)
            extra_cols.append(t_uni)
            extra_vals.append(pushes[col][t_doc] * share)
    # Question and exclamation marks: the dense count joins the token's own weight.
    for name, token_col in (("question_mark", fz.token_id("?")), ("exclamation", fz.token_id("!"))):
        col = n_terms + DENSE.index(name)
        at = cols == col
        if token_col >= 0 and at.any():
            extra_rows.append(rows[at])
            extra_cols.append(np.full(int(at.sum()), token_col, dtype=np.int64))
            extra_vals.append(contrib[at].copy())
            contrib[at] = 0.0
    if extra_rows:
        rows = np.concatenate([rows, *extra_rows])
        cols = np.concatenate([cols, *extra_cols])
        contrib = np.concatenate([contrib, *extra_vals])
    n_cols = np.int64(fz.n_features)
    keys, inverse = np.unique(rows * n_cols + cols, return_inverse=True)
    total = np.bincount(inverse.ravel(), contrib, minlength=len(keys))
    u_rows, u_cols = keys // n_cols, keys % n_cols
    negated = set()
    if cues.negated.any():
        negated = {
            (int(d), int(u))
            for d, u in zip(cues.doc[cues.negated], cues.uni[cues.negated], strict=True)
        }
    strongest = np.zeros(n_rows)
    np.maximum.at(strongest, u_rows, total)
    floor = np.maximum(0.02, 0.2 * strongest)
    good = total >= floor[u_rows]
    u_rows, u_cols, total = u_rows[good], u_cols[good], total[good]
    order = np.lexsort((-total, u_rows))
    out: list[list[str]] = [[] for _ in range(n_rows)]
    for r, c in zip(u_rows[order].tolist(), u_cols[order].tolist(), strict=True):
        if len(out[r]) < k:
            name = _feature_label(fz, c)
            out[r].append(f"{name} (negated)" if (r, c) in negated else name)
    return out


def _feature_label(fz: Featurizer, index: int) -> str:
    if index >= fz.n_terms:
        return _DENSE_NAMES[DENSE[index - fz.n_terms]]
    return fz.feature_name(index)


def analyze_prepared(
    prepared: Sequence[Prepared],
    *,
    tier: str = "fast",
    contexts: Sequence[urgency.UrgencyContext | None] | None = None,
    topic_sets: Sequence[TopicSet | None] | None = None,
    custom: custom_intents.CustomIntentModel | None = None,
    embeddings: npt.NDArray[np.float32] | None = None,
) -> list[Result]:
    """Analyse prepared messages. ``topic_sets`` gives each message's topic
    scope (None: the general topics); ``embeddings`` may be passed when the
    caller has them already (accurate tier, custom intents)."""
    n = len(prepared)
    if n == 0:
        return []
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}")
    fm = fast_model()
    x, cues = fm.featurizer.transform_with_cues(prepared)
    sent_logits = fm.sentiment.logits(x)
    sent_p = fm.sentiment.proba(x)
    versions = {"fast": fm.version}
    methods = {
        "sentiment": "fast: logistic regression over word n-grams + lexicon",
        "intent": "fast: logistic regression over word n-grams (weakly supervised)",
        "language": language.METHOD,
        "urgency": urgency.METHOD,
    }
    need_emb = tier == "accurate" or custom is not None
    if need_emb and embeddings is None:
        from rapport.analysis.embeddings import embed_texts

        embeddings = embed_texts([p.text for p in prepared])
    if tier == "accurate":
        from rapport.analysis.training import accurate_inputs

        am = accurate_model()
        z = (accurate_inputs(embeddings, sent_logits) - am.mean) / am.scale  # type: ignore[arg-type]
        sent_p = am.head.proba(z)
        versions["accurate"] = am.version
        methods["sentiment"] = "accurate: MiniLM embedding + fast log-odds, logistic regression"
    classes = fm.sentiment.classes
    s_idx = sent_p.argmax(axis=1)
    neg_i, pos_i = classes.index("negative"), classes.index("positive")
    scores = sent_p[:, pos_i] - sent_p[:, neg_i]
    fz = fm.featurizer
    sent_ev = _top_evidence(fm.sentiment, x, cues, s_idx.astype(np.int64), fz)
    int_p = fm.intent.proba(x)
    i_idx = int_p.argmax(axis=1)
    int_ev = _top_evidence(fm.intent, x, cues, i_idx.astype(np.int64), fz)
    langs = language.detect(prepared)
    custom_out = (
        custom_intents.predict(custom, embeddings)  # type: ignore[arg-type]
        if custom is not None
        else None
    )
    if custom is not None:
        versions["custom"] = custom.version
        methods["custom_intent"] = custom_intents.METHOD
    # topics: group messages by scope so each set is matched once per batch
    sets = list(topic_sets) if topic_sets is not None else [None] * n
    topic_hits: list[tuple[str, int | None, float, tuple[str, ...]] | None] = [None] * n
    by_set: dict[int, list[int]] = {}
    set_of: dict[int, TopicSet] = {}
    for i, ts in enumerate(sets):
        chosen = ts if ts is not None else general_topic_set()
        set_of[id(chosen)] = chosen
        by_set.setdefault(id(chosen), []).append(i)
    topic_versions: set[str] = set()
    for key, members in by_set.items():
        ts = set_of[key]
        topic_versions.add(ts.version)
        if tier == "accurate" and embeddings is not None and len(ts.centroids):
            nearest = assign_embeddings(embeddings[members], ts.centroids)
            for i, near in zip(members, nearest, strict=True):
                if near is not None:
                    topic_hits[i] = (ts.labels[near[0]], ts.ids[near[0]], near[1], ())
        else:
            matches = ts.index.match_batch([prepared[i] for i in members])
            for i, m in zip(members, matches, strict=True):
                if m is not None:
                    topic_hits[i] = (ts.labels[m.index], ts.ids[m.index], m.score, m.evidence)
    if topic_versions:
        versions["topics"] = ",".join(sorted(topic_versions))
    methods["topics"] = (
        "nearest topic centroid (MiniLM)"
        if tier == "accurate"
        else "nearest topic by c-TF-IDF terms"
    )
    ctxs = list(contexts) if contexts is not None else [None] * n
    results: list[Result] = []
    for i, p in enumerate(prepared):
        sentiment = classes[int(s_idx[i])]
        score = round(float(scores[i]), 4)
        intent = fm.intent.classes[int(i_idx[i])]
        if not p.tokens:  # nothing to read: say so rather than guess
            sentiment, score, intent = "neutral", 0.0, "chatter"
            sent_ev[i] = int_ev[i] = ["empty text"]
        urg = urgency.score(p, score, intent, ctxs[i])
        lang = langs[i]
        s_conf = round(float(sent_p[i, s_idx[i]]), 4)
        i_conf = round(float(int_p[i, i_idx[i]]), 4)
        evidence: dict[str, list[str]] = {
            "sentiment": sent_ev[i] or [f"no strong cue; p({sentiment})={s_conf:.2f}"],
            "intent": int_ev[i] or [f"no strong cue; p({intent})={i_conf:.2f}"],
            "urgency": list(urg.reasons),
            "language": list(lang.evidence),
        }
        hit = topic_hits[i]
        topics: list[str] = []
        topic_ids: list[int] = []
        if hit is not None:
            topics = [hit[0]]
            if hit[1] is not None:
                topic_ids = [hit[1]]
            evidence["topics"] = [f"similarity {hit[2]:.2f}", *hit[3]]
        else:
            evidence["topics"] = ["no topic close enough"]
        custom_pair = None
        if custom_out is not None:
            ci = custom_out[i]
            custom_pair = (ci.label, ci.confidence)
            evidence["custom_intent"] = list(ci.evidence)
        notes = list(p.notes)
        if not p.tokens:
            notes.append("empty text: neutral chatter by default")
        elif not p.has_letters:
            notes.append("no words: judged on symbols and emoji only")
        if notes:
            evidence["notes"] = notes
        results.append(
            Result(
                language=lang.code,
                sentiment=sentiment,
                sentiment_score=score,
                sentiment_confidence=s_conf,
                intent=intent,
                intent_confidence=i_conf,
                urgency=urg.value,
                topics=topics,
                topic_ids=topic_ids,
                evidence=evidence,
                methods=methods,
                versions=versions,
                tier=tier,
                custom_intent=custom_pair,
                notes=notes,
            )
        )
    return results


def analyze_texts(
    texts: Sequence[str],
    *,
    tier: str = "fast",
    contexts: Sequence[urgency.UrgencyContext | None] | None = None,
    custom: custom_intents.CustomIntentModel | None = None,
) -> list[Result]:
    return analyze_prepared(prepare_batch(texts), tier=tier, contexts=contexts, custom=custom)


def analyze_text(text: str, *, tier: str = "fast") -> Result:
    """One text, pure: the same stages as a batch of one."""
    return analyze_texts([text], tier=tier)[0]
