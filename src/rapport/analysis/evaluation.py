"""`rapport eval` / `make eval`: every model measured on held-out real data,
in one run, with the baselines measured beside them.

- Sentiment: TweetEval validation (2,000 tweets, removed from training),
  macro-averaged recall (TweetEval's metric) for VADER, the fast tier and
  the accurate tier; the same on the hand-labelled customer-service gold set.
- Intent: per-class precision/recall/F1 of the fast tier on the gold set,
  beside the weak-labelling rules it was trained from.
- Custom intents: 10-shot BANKING77 (10 training rows per label, evaluated
  on other training rows held out) and CLINC150 (10 shots per intent from
  its train split, its test split, out-of-scope recall at confidence < 0.5).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rapport.analysis import corpora, custom_intents
from rapport.analysis.text import prepare_batch

SEED = 0
CACHE = Path.home() / ".cache" / "rapport-models"
OOS_THRESHOLD = 0.5


def macro_recall(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> float:
    recalls = []
    for c in classes:
        idx = [i for i, g in enumerate(gold) if g == c]
        if idx:
            recalls.append(sum(1 for i in idx if pred[i] == c) / len(idx))
    return round(sum(recalls) / len(recalls), 4) if recalls else 0.0


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    return round(sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / max(1, len(gold)), 4)


def per_class(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in classes:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[c] = {
            "precision": round(prec, 3),
            "recall": round(rec, 3),
            "f1": round(f1, 3),
            "support": tp + fn,
        }
    return out


def vader_labels(texts: Sequence[str]) -> list[str]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    out = []
    for t in texts:
        c = sia.polarity_scores(t)["compound"]
        out.append("negative" if c <= -0.05 else "positive" if c >= 0.05 else "neutral")
    return out


def _sentiment_preds(texts: Sequence[str], skip_accurate: bool) -> dict[str, list[str]]:
    from rapport.analysis.loading import accurate_model, fast_model
    from rapport.analysis.training import accurate_inputs, cached_embeddings

    fm = fast_model()
    x = fm.featurizer.transform(prepare_batch(texts))
    preds = {
        "vader": vader_labels(texts),
        "fast": [fm.sentiment.classes[i] for i in fm.sentiment.proba(x).argmax(axis=1)],
    }
    if not skip_accurate:
        am = accurate_model()
        emb = cached_embeddings([p.text for p in prepare_batch(texts)], CACHE)
        z = (accurate_inputs(emb, fm.sentiment.logits(x)) - am.mean) / am.scale
        preds["accurate"] = [am.head.classes[i] for i in am.head.proba(z).argmax(axis=1)]
    return preds


def evaluate_sentiment(data: Path, skip_accurate: bool) -> dict[str, Any]:
    val = corpora.tweeteval_validation(data)
    gold = [v.label for v in val]
    preds = _sentiment_preds([v.text for v in val], skip_accurate)
    out: dict[str, Any] = {"tweeteval_validation": {"n": len(val)}}
    for name, pred in preds.items():
        out["tweeteval_validation"][name] = {
            "macro_recall": macro_recall(gold, pred, corpora.SENTIMENTS),
            "accuracy": accuracy(gold, pred),
            "per_class": per_class(gold, pred, corpora.SENTIMENTS),
        }
    rows = corpora.gold_set()
    g = [r.sentiment for r in rows]
    preds = _sentiment_preds([r.text for r in rows], skip_accurate)
    out["gold_customer_service"] = {"n": len(rows)}
    for name, pred in preds.items():
        out["gold_customer_service"][name] = {
            "macro_recall": macro_recall(g, pred, corpora.SENTIMENTS),
            "accuracy": accuracy(g, pred),
        }
    return out


def evaluate_intent() -> dict[str, Any]:
    from rapport.analysis.loading import fast_model
    from rapport.analysis.training import INTENTS, vader_compound
    from rapport.analysis.weak_labels import Hints, weak_intent

    rows = corpora.gold_set()
    fm = fast_model()
    x = fm.featurizer.transform(prepare_batch([r.text for r in rows]))
    pred = [fm.intent.classes[i] for i in fm.intent.proba(x).argmax(axis=1)]
    gold = [r.intent for r in rows]
    compound = vader_compound([r.text for r in rows])
    kinds = {
        "twcs_inbound": "inbound",
        "twcs_outbound": "outbound",
        "airline": "inbound",
        "reviews": "review",
    }
    rules = [
        weak_intent(r.text, Hints(kinds.get(r.source, "inbound"), None, None, c))
        for r, c in zip(rows, compound, strict=True)
    ]
    by_source: dict[str, dict[str, float]] = {}
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r.source].append(i)
    for source, idx in sorted(groups.items()):
        by_source[source] = {
            "n": len(idx),
            "accuracy": accuracy([gold[i] for i in idx], [pred[i] for i in idx]),
        }
    return {
        "n": len(rows),
        "labels": dict(Counter(gold)),
        "fast": {
            "accuracy": accuracy(gold, pred),
            "macro_f1": round(
                float(np.mean([v["f1"] for v in per_class(gold, pred, INTENTS).values()])), 4
            ),
            "per_class": per_class(gold, pred, INTENTS),
            "by_source": by_source,
        },
        "weak_rules": {
            "accuracy": accuracy(gold, rules),
            "per_class": per_class(gold, rules, INTENTS),
        },
    }


def _few_shot(
    train: Sequence[tuple[str, str]], test: Sequence[tuple[str, str]]
) -> tuple[custom_intents.CustomIntentModel, list[custom_intents.CustomIntent]]:
    from rapport.analysis.training import cached_embeddings

    tr_texts = [p.text for p in prepare_batch([t for t, _ in train])]
    model = custom_intents.train(
        tr_texts, [lb for _, lb in train], cached_embeddings(tr_texts, CACHE)
    )
    if not test:
        return model, []
    te_texts = [p.text for p in prepare_batch([t for t, _ in test])]
    return model, custom_intents.predict(model, cached_embeddings(te_texts, CACHE))


def evaluate_banking77(data: Path, shots: int = 10, test_size: int = 1500) -> dict[str, Any]:
    import csv

    with (data / "intents" / "banking77_train.csv").open(encoding="utf-8", newline="") as fh:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(fh)]
    rng = random.Random(SEED)
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in rows:
        by_label[r[1]].append(r)
    train, rest = [], []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        train.extend(items[:shots])
        rest.extend(items[shots:])
    test = rng.sample(rest, min(test_size, len(rest)))
    _, out = _few_shot(train, test)
    gold = [lb for _, lb in test]
    pred = [o.label for o in out]
    return {
        "labels": len(by_label),
        "shots": shots,
        "train_rows": len(train),
        "test_rows": len(test),
        "test_from": "other banking77_train.csv rows (held out, seeded sample)",
        "accuracy": accuracy(gold, pred),
    }


def evaluate_clinc(
    data: Path, shots: int = 10, test_per_intent: int = 5, oos_rows: int = 500
) -> dict[str, Any]:
    doc = json.loads((data / "intents" / "clinc150_data_full.json").read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, label in doc["train"]:
        by_label[label].append((text, label))
    train = []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        train.extend(items[:shots])
    test_by: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, label in doc["test"]:
        test_by[label].append((text, label))
    test = [r for label in sorted(test_by) for r in test_by[label][:test_per_intent]]
    oos = [(t, "oos") for t, _ in doc["oos_test"][:oos_rows]]
    model, out = _few_shot(train, test + oos)
    n_in = len(test)
    gold_in = [lb for _, lb in test]
    pred_in = [o.label for o in out[:n_in]]
    conf_in = [o.confidence for o in out[:n_in]]
    conf_oos = [o.confidence for o in out[n_in:]]
    accepted_correct = sum(
        1
        for g, p, c in zip(gold_in, pred_in, conf_in, strict=True)
        if g == p and c >= OOS_THRESHOLD
    )
    return {
        "intents": len(by_label),
        "shots": shots,
        "train_rows": len(train),
        "in_scope_test_rows": n_in,
        "oos_test_rows": len(oos),
        "in_scope_accuracy": accuracy(gold_in, pred_in),
        "in_scope_accuracy_with_rejection": round(accepted_correct / max(1, n_in), 4),
        "oos_recall": round(sum(1 for c in conf_oos if c < OOS_THRESHOLD) / max(1, len(oos)), 4),
        "threshold": OOS_THRESHOLD,
        "mean_confidence_in_scope": round(float(np.mean(conf_in)), 3),
        "mean_confidence_oos": round(float(np.mean(conf_oos)), 3),
        "tau": model.tau,
    }


def calibrate_tau(data: Path, shots: int = 10, val_per_intent: int = 5) -> dict[str, Any]:
    """How `custom_intents.TAU` was chosen: on CLINC150's *validation* split
    (in-scope rows and `oos_val`), never its test split: the τ maximising the
    mean of in-scope accuracy-with-rejection and out-of-scope recall."""
    doc = json.loads((data / "intents" / "clinc150_data_full.json").read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, label in doc["train"]:
        by_label[label].append((text, label))
    train = []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        train.extend(items[:shots])
    val_by: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, label in doc["val"]:
        val_by[label].append((text, label))
    val = [r for label in sorted(val_by) for r in val_by[label][:val_per_intent]]
    oos = [(t, "oos") for t, _ in doc["oos_val"]]
    from rapport.analysis.training import cached_embeddings

    best: tuple[float, float] = (-1.0, custom_intents.TAU)
    grid = {}
    model, _ = _few_shot(train, [])
    texts = [p.text for p in prepare_batch([t for t, _ in val + oos])]
    emb = cached_embeddings(texts, CACHE)
    for tau in [round(0.30 + 0.025 * i, 3) for i in range(13)]:
        model.tau = tau
        out = custom_intents.predict(model, emb)
        n_in = len(val)
        acc = (
            sum(
                1
                for (_, g), o in zip(val, out[:n_in], strict=True)
                if o.label == g and o.confidence >= OOS_THRESHOLD
            )
            / n_in
        )
        rec = sum(1 for o in out[n_in:] if o.confidence < OOS_THRESHOLD) / len(oos)
        grid[tau] = (round(acc, 4), round(rec, 4))
        if (acc + rec) / 2 > best[0]:
            best = ((acc + rec) / 2, tau)
    return {"best_tau": best[1], "grid (accuracy with rejection, oos recall)": grid}


def run(data: Path, *, skip_accurate: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    from rapport.analysis.loading import fast_model

    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "fast_version": fast_model().version,
        "sentiment": evaluate_sentiment(data, skip_accurate),
        "intent": evaluate_intent(),
    }
    if not skip_accurate:
        from rapport.analysis.loading import accurate_model

        report["accurate_version"] = accurate_model().version
        report["custom_intents"] = {
            "banking77": evaluate_banking77(data),
            "clinc150": evaluate_clinc(data),
        }
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


GOALS = {
    "fast": 0.64,
    "accurate": 0.70,
    "banking77": 0.80,
}


def _rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    tv = report["sentiment"]["tweeteval_validation"]
    for name in ("vader", "fast", "accurate"):
        if name in tv:
            goal = f"≥ {GOALS[name]}" if name in GOALS else "baseline"
            rows.append(
                (
                    f"sentiment {name}: TweetEval val macro-recall",
                    f"{tv[name]['macro_recall']:.3f}",
                    goal,
                )
            )
    gs = report["sentiment"]["gold_customer_service"]
    for name in ("vader", "fast", "accurate"):
        if name in gs:
            rows.append(
                (f"sentiment {name}: gold set macro-recall", f"{gs[name]['macro_recall']:.3f}", "")
            )
    it = report["intent"]
    rows.append(("intent fast: gold accuracy", f"{it['fast']['accuracy']:.3f}", ""))
    rows.append(("intent fast: gold macro-F1", f"{it['fast']['macro_f1']:.3f}", ""))
    rows.append(
        ("intent weak rules: gold accuracy", f"{it['weak_rules']['accuracy']:.3f}", "baseline")
    )
    for c, v in it["fast"]["per_class"].items():
        rows.append(
            (
                f"intent {c}: P / R (n={v['support']})",
                f"{v['precision']:.3f} / {v['recall']:.3f}",
                "",
            )
        )
    ci = report.get("custom_intents")
    if ci:
        b = ci["banking77"]
        rows.append(("BANKING77 10-shot accuracy", f"{b['accuracy']:.3f}", "≥ 0.80"))
        c = ci["clinc150"]
        rows.append(("CLINC150 10-shot in-scope accuracy", f"{c['in_scope_accuracy']:.3f}", ""))
        rows.append(
            (
                "CLINC150 in-scope accuracy with OOS rejection",
                f"{c['in_scope_accuracy_with_rejection']:.3f}",
                "",
            )
        )
        rows.append(
            (f"CLINC150 oos recall (confidence < {c['threshold']})", f"{c['oos_recall']:.3f}", "")
        )
    return rows


def table(report: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table("measure", "value", "goal", title="rapport eval")
    for row in _rows(report):
        t.add_row(*row)
    return t


def markdown(report: dict[str, Any]) -> str:
    lines = [
        BEGIN,
        "## Understanding messages (analysis)",
        "",
        "Generated by `make eval` (`rapport eval`); every figure below comes from one run "
        f"on {report['generated_at']} ({report['seconds']} s). Models: fast "
        f"`{report['fast_version']}`"
        + (f", accurate `{report['accurate_version']}`" if "accurate_version" in report else "")
        + ". Speed is measured by `rapport bench`, not here.",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _rows(report)]
    tv = report["sentiment"]["tweeteval_validation"]
    lines += [
        "",
        "### Sentiment",
        "",
        f"TweetEval validation split ({tv['n']:,} tweets). The SemEval 2013-2016 pool the models "
        "are trained on contains all of them; they are removed before training "
        "(`rapport.analysis.corpora.semeval_training_pool`). VADER uses its usual ±0.05 "
        "compound thresholds.",
        "",
        "| model | macro-recall | accuracy | recall neg / neu / pos |",
        "|---|---|---|---|",
    ]
    for name in ("vader", "fast", "accurate"):
        if name in tv:
            pc = tv[name]["per_class"]
            lines.append(
                f"| {name} | {tv[name]['macro_recall']:.3f} | {tv[name]['accuracy']:.3f} | "
                f"{pc['negative']['recall']:.3f} / {pc['neutral']['recall']:.3f} / "
                f"{pc['positive']['recall']:.3f} |"
            )
    gs = report["sentiment"]["gold_customer_service"]
    lines += [
        "",
        f"On the hand-labelled customer-service gold set ({gs['n']} messages, "
        "`data/eval/intent_gold.jsonl`, sentiment read by hand):",
        "",
        "| model | macro-recall | accuracy |",
        "|---|---|---|",
    ]
    for name in ("vader", "fast", "accurate"):
        if name in gs:
            lines.append(
                f"| {name} | {gs[name]['macro_recall']:.3f} | {gs[name]['accuracy']:.3f} |"
            )
    it = report["intent"]
    lines += [
        "",
        "### Intent",
        "",
        f"Gold set: {it['n']} real messages labelled by reading them "
        "(`data/eval/INTENT_GUIDE.md`), never trained on. The model learns from weak labels "
        "(`rapport.analysis.weak_labels`) on ~29k other messages; the rules alone are the "
        "baseline.",
        "",
        "| intent | support | precision | recall | F1 | rules P / R |",
        "|---|---|---|---|---|---|",
    ]
    for c, v in it["fast"]["per_class"].items():
        r = it["weak_rules"]["per_class"][c]
        lines.append(
            f"| {c} | {v['support']} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | "
            f"{r['precision']:.3f} / {r['recall']:.3f} |"
        )
    lines += [
        "",
        "Accuracy by source: "
        + ", ".join(
            f"{s} {v['accuracy']:.3f} (n={v['n']})" for s, v in it["fast"]["by_source"].items()
        )
        + ".",
    ]
    ci = report.get("custom_intents")
    if ci:
        b, c = ci["banking77"], ci["clinc150"]
        lines += [
            "",
            "### Custom intents (few-shot)",
            "",
            f"- BANKING77: {b['shots']} examples per label ({b['labels']} labels, "
            f"{b['train_rows']} rows) from `banking77_train.csv`, evaluated on "
            f"{b['test_rows']} other rows of it "
            f"(held out): accuracy **{b['accuracy']:.3f}**.",
            f"- CLINC150: {c['shots']} examples per intent from its train split, "
            f"{c['in_scope_test_rows']} test rows ({c['in_scope_test_rows'] // c['intents']} per "
            f"intent) + {c['oos_test_rows']} `oos_test` rows: in-scope accuracy "
            f"**{c['in_scope_accuracy']:.3f}**; out-of-scope recall (confidence < "
            f"{c['threshold']}) **{c['oos_recall']:.3f}**; in-scope accuracy counting "
            f"rejections as errors {c['in_scope_accuracy_with_rejection']:.3f}. Mean confidence "
            f"{c['mean_confidence_in_scope']} in scope vs {c['mean_confidence_oos']} out of scope "
            f"(τ = {c['tau']}).",
        ]
    lines += [END, ""]
    return "\n".join(lines)


BEGIN = "<!-- analysis evaluation: written by `rapport eval`, do not edit by hand -->"
END = "<!-- end of analysis evaluation -->"


def merge_into(existing: str | None, section: str) -> str:
    """``existing`` (docs/EVALUATION.md, shared with other domains) with the
    analysis section replaced, or appended when it is not there yet."""
    if not existing:
        return "# Evaluation\n\n" + section
    start = existing.find(BEGIN)
    end = existing.find(END)
    if start >= 0 and end > start:
        tail = existing[end + len(END) :].lstrip("\n")
        return existing[:start] + section + ("\n" + tail if tail else "")
    return existing.rstrip("\n") + "\n\n" + section
