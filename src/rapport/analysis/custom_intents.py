"""Custom intents: a team's own labels learnt from about ten examples each.

Pure functions over sentence embeddings (`rapport.analysis.embeddings`):
`train` fits a logistic regression on the examples' MiniLM embeddings and
keeps the examples' embeddings; `predict` returns the best label with a
confidence that is low for out-of-scope messages:

    confidence = p(label) × σ((s − τ) / 0.04)

where p is the classifier's probability and s the cosine similarity to the
nearest training example (of any label). A message unlike every example
(s well below τ) gets a confidence near 0 whatever the classifier says.
τ = 0.30 was chosen on CLINC150's validation split (in-scope rows vs
`oos_val`, `rapport.analysis.evaluation.calibrate_tau`), never on its test
split: it maximises the mean of in-scope accuracy (rejections counted as
errors) and out-of-scope recall at confidence 0.5.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rapport.analysis.errors import AnalysisError

METHOD = "minilm-logreg-nn-gate"
TAU = 0.30
TEMPERATURE = 0.04
MIN_EXAMPLES_PER_LABEL = 2
MAX_LABELS = 500


@dataclass
class CustomIntentModel:
    labels: tuple[str, ...]
    coef: npt.NDArray[np.float32]  # (dim, n_labels)
    intercept: npt.NDArray[np.float32]
    examples: npt.NDArray[np.float16]  # (n_examples, dim), L2-normalised
    example_labels: npt.NDArray[np.int32]
    tau: float = TAU

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            labels=np.array(self.labels, dtype=str),
            coef=self.coef,
            intercept=self.intercept,
            examples=self.examples,
            example_labels=self.example_labels,
            tau=np.array([self.tau]),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> CustomIntentModel:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            return cls(
                labels=tuple(str(x) for x in z["labels"]),
                coef=z["coef"],
                intercept=z["intercept"],
                examples=z["examples"],
                example_labels=z["example_labels"],
                tau=float(z["tau"][0]),
            )

    @property
    def version(self) -> str:
        return "custom-" + hashlib.sha256(self.to_bytes()).hexdigest()[:10]


def validate_examples(texts: Sequence[str], labels: Sequence[str]) -> Counter[str]:
    counts = Counter(labels)
    if len(counts) < 2:
        raise AnalysisError("custom intents need at least 2 different labels")
    if len(counts) > MAX_LABELS:
        raise AnalysisError(f"at most {MAX_LABELS} labels, got {len(counts)}")
    thin = sorted(lb for lb, n in counts.items() if n < MIN_EXAMPLES_PER_LABEL)
    if thin:
        raise AnalysisError(
            f"label(s) with fewer than {MIN_EXAMPLES_PER_LABEL} examples: {', '.join(thin[:10])}"
        )
    return counts


def train(
    texts: Sequence[str], labels: Sequence[str], embeddings: npt.NDArray[np.float32]
) -> CustomIntentModel:
    from sklearn.linear_model import LogisticRegression

    validate_examples(texts, labels)
    names = tuple(sorted(set(labels)))
    y = np.array([names.index(lb) for lb in labels], dtype=np.int32)
    x = np.asarray(embeddings, dtype=np.float64)
    model = LogisticRegression(C=20.0, max_iter=5000, random_state=0)
    model.fit(x, y)
    return CustomIntentModel(
        labels=names,
        coef=model.coef_.T.astype(np.float32),
        intercept=model.intercept_.astype(np.float32),
        examples=x.astype(np.float16),
        example_labels=y,
    )


@dataclass(frozen=True)
class CustomIntent:
    label: str
    confidence: float
    evidence: tuple[str, ...]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def predict(model: CustomIntentModel, embeddings: npt.NDArray[np.float32]) -> list[CustomIntent]:
    if not len(embeddings):
        return []
    x = np.asarray(embeddings, dtype=np.float32)
    z = x @ model.coef + model.intercept
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    sims = x @ model.examples.astype(np.float32).T
    nn = sims.argmax(axis=1)
    out: list[CustomIntent] = []
    for i in range(len(x)):
        best = int(p[i].argmax())
        s = float(sims[i, nn[i]])
        gate = _sigmoid((s - model.tau) / TEMPERATURE)
        conf = float(p[i, best]) * gate
        evidence: tuple[str, ...] = (
            f"p({model.labels[best]})={p[i, best]:.2f}",
            f"nearest example similarity {s:.2f} "
            f"({model.labels[int(model.example_labels[nn[i]])]}); in scope above {model.tau}",
        )
        out.append(CustomIntent(model.labels[best], round(conf, 4), evidence))
    return out


def summary(model: CustomIntentModel) -> dict[str, Any]:
    counts = Counter(model.labels[int(i)] for i in model.example_labels)
    return {"labels": dict(sorted(counts.items())), "examples": len(model.example_labels)}
