"""Recall@k of knowledge-base search on a gold set (`rapport kb evaluate`).

A gold line: `{"id", "query", "answer_ids": [external ids], "question_ids": [...]}`.
A query is a hit when one of the top k results cites, among its sources,
a message whose external id is one of `answer_ids`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from rapport.knowledge.errors import KnowledgeError
from rapport.knowledge.models import APPROVED, CANDIDATE
from rapport.knowledge.queries import SEMANTIC_WEIGHT, search


def default_gold_path() -> Path:
    return Path(str(resources.files("rapport.knowledge") / "gold" / "twcs_kb_gold.jsonl"))


def load_gold(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise KnowledgeError(f"{path}: cannot be read ({exc.strerror})") from None
    gold = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KnowledgeError(f"{path}: line {number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not item.get("query") or not item.get("answer_ids"):
            raise KnowledgeError(f"{path}: line {number}: needs `query` and `answer_ids`")
        gold.append(item)
    if not gold:
        raise KnowledgeError(f"{path}: no gold query")
    return gold


def evaluate(
    session: Session,
    gold: list[dict[str, Any]],
    *,
    k: int = 5,
    semantic_weight: float = SEMANTIC_WEIGHT,
) -> dict[str, Any]:
    per_query = []
    hits = 0
    reciprocal = 0.0
    for item in gold:
        wanted = {str(x) for x in item["answer_ids"]}
        results = search(
            session,
            item["query"],
            limit=k,
            statuses=(APPROVED, CANDIDATE),
            semantic_weight=semantic_weight,
        )
        rank = None
        for position, result in enumerate(results, start=1):
            if any(s.external_id in wanted for s in result.sources):
                rank = position
                break
        if rank is not None:
            hits += 1
            reciprocal += 1 / rank
        per_query.append(
            {
                "id": item.get("id"),
                "query": item["query"],
                "hit_rank": rank,
                "top": [
                    {
                        "id": r.id,
                        "score": r.score,
                        "question": r.question[:120],
                        "cites": [s.external_id for s in r.sources],
                    }
                    for r in results[:3]
                ],
            }
        )
    return {
        "queries": len(gold),
        "k": k,
        "semantic_weight": semantic_weight,
        f"recall_at_{k}": round(hits / len(gold), 4),
        "hits": hits,
        "mrr": round(reciprocal / len(gold), 4),
        "per_query": per_query,
    }
