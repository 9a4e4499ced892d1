"""`make models`: rebuild every trained artefact of the analysis domain from
the team's real data, reproducibly (fixed seeds, deterministic solvers).

    python -m rapport.analysis.training [--data DIR] [--only fast|accurate|topics]

Writes `src/rapport/analysis/models/{fast.npz,fast.json,accurate.npz,
accurate.json,topics_general.json}`; MODEL_CARD.md records what each is
trained on, its licence and this command. The intent gold set
(`data/eval/intent_gold.jsonl`) is never trained on: its messages are
removed from every pool here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rapport.analysis import corpora
from rapport.analysis.features import build_featurizer
from rapport.analysis.text import prepare_batch
from rapport.analysis.weak_labels import Hints, weak_intent

SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("question", "request", "complaint", "praise", "feedback", "chatter")
MODELS_DIR = Path(__file__).resolve().parent / "models"
SEED = 0
#: General tweets (SemEval pool, seeded sample) added to the intent pool so
#: the intent model also knows what chatter outside customer service is.
GENERAL_TWEETS_FOR_INTENT = 8_000
#: Messages (seeded sample of the inbound corpora) the general topics are discovered on.
GENERAL_TOPIC_SAMPLE = 6_000
#: SemEval tweets (seeded sample of the pool) the accurate head learns from:
#: MiniLM costs ~30 ms a tweet on this project's 2-core machines, so the whole
#: 47k pool would take most of an hour to embed; 16k keep `make models` short.
ACCURATE_SAMPLE = 16_000

Log = Callable[[str], None]


def _log(message: str) -> None:
    sys.stderr.write(f"[models] {message}\n")
    sys.stderr.flush()


#: Valence of common emoji whose VADER description has no lexicon word
#: ("pouting face", "face with rolling eyes"...), on VADER's -4..4 scale.
EMOJI_VALENCE = {
    "😡": -2.5,
    "🤬": -3.0,
    "😠": -2.3,
    "😤": -1.5,
    "🙄": -1.3,
    "😒": -1.5,
    "😑": -1.0,
    "🤦": -1.5,
    "👎": -1.8,
    "💩": -1.5,
    "😩": -1.8,
    "😫": -1.8,
    "😖": -1.6,
    "😣": -1.4,
    "🤮": -2.5,
    "👍": 1.5,
    "👏": 1.5,
    "🙏": 1.0,
    "🎉": 2.0,
    "🙌": 1.8,
    "💯": 1.5,
    "🔥": 1.0,
    "😋": 1.8,
    "🤗": 1.8,
    "💕": 2.5,
    "💖": 2.5,
    "💙": 2.0,
    "💚": 2.0,
    "💜": 2.0,
}


def vader_lexicon() -> dict[str, float]:
    """VADER's word lexicon plus its emoji, each emoji valued by the mean
    valence of the lexicon words in its description (MIT, vaderSentiment),
    and `EMOJI_VALENCE` for common emoji those descriptions miss."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    lexicon = {k.lower(): float(v) for k, v in sia.lexicon.items()}
    for emoji, description in sia.emojis.items():
        vals = [lexicon[w] for w in description.lower().split() if w in lexicon]
        if vals and len(emoji) == 1:
            lexicon[emoji] = round(sum(vals) / len(vals), 3)
    for emoji, value in EMOJI_VALENCE.items():
        if not lexicon.get(emoji):
            lexicon[emoji] = value
    return lexicon


def vader_compound(texts: Sequence[str]) -> list[float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    return [float(sia.polarity_scores(t)["compound"]) for t in texts]


def cached_embeddings(
    texts: Sequence[str], cache_dir: Path, log: Log = _log
) -> npt.NDArray[np.float32]:
    """MiniLM embeddings of ``texts``, cached on disk by content hash (the
    same texts are embedded once however often `make models` runs)."""
    from rapport.analysis.embeddings import embed_texts

    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
    path = cache_dir / f"minilm-{digest}-{len(texts)}.npy"
    if path.exists():
        return np.asarray(np.load(path), dtype=np.float32)
    log(f"embedding {len(texts):,} texts with MiniLM (cached in {path})")
    started = time.perf_counter()
    chunks = []
    step = 2048
    for i in range(0, len(texts), step):
        chunks.append(embed_texts(texts[i : i + step], batch_size=128))
        done = min(i + step, len(texts))
        rate = done / (time.perf_counter() - started)
        log(f"  {done:,}/{len(texts):,} ({rate:.0f} texts/s)")
    vectors = np.concatenate(chunks) if chunks else np.zeros((0, 384), dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


# ----------------------------------------------------------------- pools


def intent_pool(data: Path, log: Log = _log) -> tuple[list[str], list[str], dict[str, int]]:
    """Real messages (TWCS, airline, reviews, a sample of general tweets)
    minus the gold set, weakly labelled. Returns texts, labels, counts."""
    gold = {row.id for row in corpora.gold_set()}
    gold_text = {corpora.match_key(row.text) for row in corpora.gold_set()}
    messages = [
        m
        for source in (
            corpora.twcs_messages(data),
            corpora.airline_messages(data),
            corpora.review_messages(data),
        )
        for m in source
        if m.id not in gold and corpora.match_key(m.text) not in gold_text
    ]
    pool, _ = corpora.semeval_training_pool(data)
    sample = random.Random(SEED).sample(pool, min(GENERAL_TWEETS_FOR_INTENT, len(pool)))
    texts = [m.text for m in messages] + [x.text for x in sample]
    compound = vader_compound(texts)
    labels = []
    for i, m in enumerate(messages):
        labels.append(weak_intent(m.text, Hints(m.kind, m.sentiment, m.rating, compound[i])))
    base = len(messages)
    for j, x in enumerate(sample):
        labels.append(weak_intent(x.text, Hints("tweet", x.label, None, compound[base + j])))
    counts = dict(Counter(labels))
    log(
        f"intent pool: {len(texts):,} messages ({len(messages):,} customer-service, "
        f"{len(sample):,} general tweets), weak labels {counts}"
    )
    return texts, labels, counts


# ----------------------------------------------------------------- fast tier


def _fit_logreg(x: Any, y: Sequence[str], classes: Sequence[str], c: float = 1.0) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced", random_state=SEED)
    model.fit(x, [classes.index(v) for v in y])
    return model


def train_fast(data: Path, out: Path = MODELS_DIR, log: Log = _log) -> dict[str, Any]:
    started = time.perf_counter()
    pool, dropped = corpora.semeval_training_pool(data)
    log(
        f"sentiment pool: {len(pool):,} SemEval tweets ({dropped:,} TweetEval validation "
        "tweets removed)"
    )
    intent_texts, intent_labels, intent_counts = intent_pool(data, log)
    sent_prep = prepare_batch([x.text for x in pool])
    intent_prep = prepare_batch(intent_texts)
    featurizer = build_featurizer(
        [p.tokens for p in sent_prep] + [p.tokens for p in intent_prep], vader_lexicon()
    )
    log(
        f"features: {len(featurizer.unigrams):,} unigrams, {len(featurizer.bigram_keys):,} "
        "bigrams, 6 dense cues"
    )
    sentiment = _fit_logreg(featurizer.transform(sent_prep), [x.label for x in pool], SENTIMENTS)
    intent = _fit_logreg(featurizer.transform(intent_prep), intent_labels, INTENTS)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out / "fast.npz",
        bigram_keys=featurizer.bigram_keys,
        idf=featurizer.idf.astype(np.float32),
        valence=featurizer.valence.astype(np.float32),
        sentiment_coef=sentiment.coef_.T.astype(np.float32),
        sentiment_b=sentiment.intercept_.astype(np.float32),
        intent_coef=intent.coef_.T.astype(np.float32),
        intent_b=intent.intercept_.astype(np.float32),
    )
    meta = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sentiment_classes": list(SENTIMENTS),
        "intent_classes": list(INTENTS),
        "sentiment_training": {
            "data": "SemEval 2013-2016 Task 4A pool minus the 2,000 TweetEval validation tweets",
            "rows": len(pool),
            "removed_validation_rows": dropped,
            "model": "multinomial logistic regression, C=1, balanced classes",
        },
        "intent_training": {
            "data": "TWCS head 5k + airline tweets + Amazon Alexa reviews (gold set removed) "
            f"+ {GENERAL_TWEETS_FOR_INTENT:,} SemEval tweets, weak labels "
            "(rapport.analysis.weak_labels)",
            "rows": len(intent_texts),
            "labels": intent_counts,
            "model": "multinomial logistic regression, C=1, balanced classes",
        },
        "unigrams": featurizer.unigrams,
    }
    (out / "fast.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    log(f"fast tier written to {out} in {time.perf_counter() - started:.0f} s")
    return meta


# ----------------------------------------------------------------- accurate tier


def accurate_inputs(
    embeddings: npt.NDArray[np.float32], fast_logits: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The accurate head's input: the sentence embedding and the fast
    tier's centred log-odds (the stacked model sees both)."""
    centred = fast_logits - fast_logits.mean(axis=1, keepdims=True)
    return np.hstack([np.asarray(embeddings, dtype=np.float64), centred])


def train_accurate(
    data: Path, out: Path = MODELS_DIR, cache: Path | None = None, log: Log = _log
) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    cache = cache or Path.home() / ".cache" / "rapport-models"
    full_pool, dropped = corpora.semeval_training_pool(data)
    rng = random.Random(SEED)
    chosen = sorted(rng.sample(range(len(full_pool)), min(ACCURATE_SAMPLE, len(full_pool))))
    pool = [full_pool[i] for i in chosen]
    prepared = prepare_batch([x.text for x in pool])
    texts = [p.text for p in prepared]
    y = np.array([SENTIMENTS.index(x.label) for x in pool])
    from rapport.analysis.loading import clear_caches, fast_model

    clear_caches()
    fast = fast_model()
    x_all = fast.featurizer.transform(prepare_batch([x.text for x in full_pool]))
    y_all = np.array([SENTIMENTS.index(x.label) for x in full_pool])
    # Out-of-fold fast-tier log-odds: for each quarter of the sample, a fast
    # model trained on the whole pool minus that quarter scores it, so the
    # stacked head never learns from a fast score computed on the tweet itself.
    oof = np.zeros((len(texts), 3))
    folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=SEED)
    chosen_arr = np.array(chosen)
    for k, (_, te) in enumerate(folds.split(np.zeros(len(y)), y)):
        keep = np.ones(len(full_pool), dtype=bool)
        keep[chosen_arr[te]] = False
        m = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced", random_state=SEED)
        m.fit(x_all[keep], y_all[keep])
        oof[te] = m.decision_function(x_all[chosen_arr[te]])
        log(f"  stacking fold {k + 1}/4")
    emb = cached_embeddings(texts, cache, log)
    x = accurate_inputs(emb, oof)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    head = LogisticRegression(C=0.5, max_iter=5000, class_weight="balanced", random_state=SEED)
    head.fit((x - mean) / scale, y)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out / "accurate.npz",
        coef=head.coef_.T.astype(np.float32),
        intercept=head.intercept_.astype(np.float32),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
    )
    meta = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "classes": list(SENTIMENTS),
        "inputs": "all-MiniLM-L6-v2 sentence embedding (384) + fast-tier log-odds (3), "
        "standardised",
        "training": {
            "data": f"seeded sample of {len(texts):,} tweets of the SemEval 2013-2016 Task 4A "
            "pool minus the TweetEval validation tweets",
            "rows": len(texts),
            "removed_validation_rows": dropped,
            "stacking": "fast-tier log-odds out-of-fold (5 folds, seed 0)",
            "model": "multinomial logistic regression, C=0.5, balanced classes",
        },
        "fast_version": fast.version,
    }
    (out / "accurate.json").write_text(json.dumps(meta), encoding="utf-8")
    log(f"accurate tier written in {time.perf_counter() - started:.0f} s")
    return meta


# ----------------------------------------------------------------- general topics


def train_general_topics(
    data: Path, out: Path = MODELS_DIR, cache: Path | None = None, log: Log = _log
) -> dict[str, Any]:
    from rapport.analysis.topics import discover

    cache = cache or Path.home() / ".cache" / "rapport-models"
    messages = [
        m
        for source in (
            corpora.twcs_messages(data),
            corpora.airline_messages(data),
            corpora.review_messages(data),
        )
        for m in source
        if m.kind in ("inbound", "review")
    ]
    messages = random.Random(SEED).sample(messages, min(GENERAL_TOPIC_SAMPLE, len(messages)))
    texts = [m.text for m in messages]
    prepared = prepare_batch(texts)
    emb = cached_embeddings(texts, cache, log)
    drafts = discover(prepared, emb, seed=SEED, k=30)
    doc = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": f"seeded sample of {len(texts):,} inbound TWCS head 5k tweets, airline tweets "
        "and Amazon Alexa reviews",
        "messages": len(texts),
        "seed": SEED,
        "topics": [
            {"label": d.label, "size": len(d.members), "terms": d.terms, "centroid": d.centroid}
            for d in drafts
        ],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "topics_general.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    log(f"{len(drafts)} general topics written")
    return doc


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None, help="the shared data directory")
    parser.add_argument("--only", choices=("fast", "accurate", "topics"), action="append")
    parser.add_argument("--out", default=str(MODELS_DIR))
    args = parser.parse_args(argv)
    data = corpora.shared_data_dir(args.data)
    out = Path(args.out)
    only = set(args.only or ("fast", "accurate", "topics"))
    if "fast" in only:
        train_fast(data, out)
    if "accurate" in only:
        train_accurate(data, out)
    if "topics" in only:
        train_general_topics(data, out)


if __name__ == "__main__":
    main()
