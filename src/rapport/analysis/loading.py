"""The trained artefacts shipped in `rapport/analysis/models/` (built by
`make models`), loaded once per process.

- `fast.npz` + `fast.json`: the fast tier (featurizer, a sentiment head and
  an intent head, both linear).
- `accurate.npz`: the accurate tier's sentiment head over MiniLM sentence
  embeddings stacked with the fast tier's log-odds.
- `topics_general.json`: topics discovered on the shipped corpora, used when
  no brand-specific topics exist (and by `rapport analyze`).

Each artefact's version is its content hash: retraining changes the version
stored with every analysis row, and `rapport reanalyze` picks those rows up.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from rapport.analysis.errors import ModelMissingError
from rapport.analysis.features import Featurizer

MODELS_PACKAGE = "rapport.analysis"
_lock = threading.Lock()


def _artefact(name: str) -> bytes:
    ref = resources.files(MODELS_PACKAGE) / "models" / name
    if not ref.is_file():
        raise ModelMissingError(
            f"the trained model file models/{name} is not in the package: run `make models`"
        )
    return ref.read_bytes()


def _npz(data: bytes) -> dict[str, npt.NDArray[Any]]:
    import io

    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@dataclass
class LinearHead:
    classes: tuple[str, ...]
    coef: npt.NDArray[np.float32]  # (n_features, n_classes)
    intercept: npt.NDArray[np.float32]

    @property
    def centred(self) -> npt.NDArray[np.float32]:
        """Each feature's weight for a class minus its mean over classes."""
        cached: npt.NDArray[np.float32] | None = self.__dict__.get("_centred")
        if cached is None:
            cached = (self.coef - self.coef.mean(axis=1, keepdims=True)).astype(np.float32)
            self.__dict__["_centred"] = cached
        return cached

    def logits(self, x: Any) -> npt.NDArray[np.float64]:
        return np.asarray(x @ self.coef, dtype=np.float64) + self.intercept

    def proba(self, x: Any) -> npt.NDArray[np.float64]:
        z = self.logits(x)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))


@dataclass
class FastModel:
    version: str
    featurizer: Featurizer
    sentiment: LinearHead
    intent: LinearHead
    meta: dict[str, Any]


@dataclass
class AccurateModel:
    version: str
    head: LinearHead
    mean: npt.NDArray[np.float32]
    scale: npt.NDArray[np.float32]
    meta: dict[str, Any]


@dataclass
class TopicModel:
    """Topics with their c-TF-IDF term weights and embedding centroids."""

    version: str
    topics: list[dict[str, Any]]


def _version(prefix: str, *blobs: bytes) -> str:
    digest = hashlib.sha256()
    for blob in blobs:
        digest.update(blob)
    return f"{prefix}-{digest.hexdigest()[:10]}"


@cache
def fast_model() -> FastModel:
    with _lock:
        arrays_blob = _artefact("fast.npz")
        meta_blob = _artefact("fast.json")
        arrays = _npz(arrays_blob)
        meta = json.loads(meta_blob)
        featurizer = Featurizer(
            unigrams=list(meta["unigrams"]),
            bigram_keys=arrays["bigram_keys"].astype(np.int64),
            idf=arrays["idf"].astype(np.float64),
            valence=arrays["valence"].astype(np.float64),
        )
        return FastModel(
            version=_version("fast", arrays_blob, meta_blob),
            featurizer=featurizer,
            sentiment=LinearHead(
                tuple(meta["sentiment_classes"]), arrays["sentiment_coef"], arrays["sentiment_b"]
            ),
            intent=LinearHead(
                tuple(meta["intent_classes"]), arrays["intent_coef"], arrays["intent_b"]
            ),
            meta={k: v for k, v in meta.items() if k != "unigrams"},
        )


@cache
def accurate_model() -> AccurateModel:
    with _lock:
        blob = _artefact("accurate.npz")
        meta_blob = _artefact("accurate.json")
        arrays = _npz(blob)
        meta = json.loads(meta_blob)
        return AccurateModel(
            version=_version("accurate", blob, meta_blob),
            head=LinearHead(tuple(meta["classes"]), arrays["coef"], arrays["intercept"]),
            mean=arrays["mean"],
            scale=arrays["scale"],
            meta=meta,
        )


@cache
def general_topics() -> TopicModel:
    blob = _artefact("topics_general.json")
    data = json.loads(blob)
    return TopicModel(version=_version("topics", blob), topics=list(data["topics"]))


def clear_caches() -> None:
    """Forget loaded artefacts (after `make models` in the same process)."""
    fast_model.cache_clear()
    accurate_model.cache_clear()
    general_topics.cache_clear()
