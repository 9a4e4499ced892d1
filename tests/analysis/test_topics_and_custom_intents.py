"""Topics discovered per brand (deterministic with a seed, new messages
assigned) and custom intents stored in the database (train, list, use,
delete; out-of-scope gets low confidence). These load MiniLM."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from rapport.analysis.models import MessageAnalysis as Row
from rapport.analysis.service import scopes_with_messages
from rapport.conversations.models import Message
from rapport.demo import demo_path
from rapport.storage.engine import session_scope
from tests.conftest import FIXTURES, Database

pytestmark = pytest.mark.slow


def _ingest_demo_slice(cli, tmp_path: Path, n: int = 1500) -> None:
    out = tmp_path / "slice.csv"
    with (
        demo_path().open(newline="", encoding="utf-8") as src,
        out.open("w", newline="", encoding="utf-8") as dst,
    ):
        reader, writer = csv.reader(src), csv.writer(dst)
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i < n:
                writer.writerow(row)
    assert cli("ingest", str(out)).exit_code == 0


def _busiest_brand() -> str:
    with session_scope() as s:
        scopes = scopes_with_messages(s)
    brand_scopes = {k: v for k, v in scopes.items() if k.startswith("brand:")}
    return max(brand_scopes, key=lambda k: len(brand_scopes[k])).split(":", 1)[1]


def _assignment() -> dict[str, str]:
    with session_scope() as s:
        return {
            ext: "|".join(topics)
            for ext, topics in s.execute(
                select(Message.external_id, Row.topics).join(Row, Row.message_id == Message.id)
            )
        }


def test_topics_are_discovered_deterministically_and_new_messages_join_them(
    db: Database, cli, tmp_path: Path
) -> None:
    _ingest_demo_slice(cli, tmp_path)
    brand = _busiest_brand()
    first = cli("topics", "discover", "--brand", brand, "--seed", "7", "--json")
    assert first.exit_code == 0, first.stderr
    listed_1 = cli("topics", "--brand", brand, "--json").json()["topics"]
    assigned_1 = _assignment()
    second = cli("topics", "discover", "--brand", brand, "--seed", "7", "--json")
    assert second.exit_code == 0, second.stderr
    listed_2 = cli("topics", "--brand", brand, "--json").json()["topics"]
    assert [(t["label"], t["size"], t["terms"]) for t in listed_1] == [
        (t["label"], t["size"], t["terms"]) for t in listed_2
    ]
    assert _assignment() == assigned_1
    assert len(listed_2) >= 2
    for t in listed_2:
        assert t["scope"] == f"brand:{brand}"
        assert t["label"] and t["terms"] and t["size"] >= 1
        assert set(t["sentiment_mix"]) == {"negative", "neutral", "positive"}
        assert sum(t["sentiment_mix"].values()) == t["size"]
        assert t["examples"] and all(e["text"] for e in t["examples"])
    # a new message to this brand, written with the biggest topic's own words
    biggest = max(listed_2, key=lambda t: t["size"])
    words = [w for w in biggest["terms"] if " " not in w][:4]
    new = tmp_path / "new.jsonl"
    new.write_text(
        json.dumps(
            {
                "id": "new-1",
                "channel": "twitter",
                "author": "someone_new",
                "created_at": "2017-11-01T10:00:00Z",
                "text": f"@{brand} " + " ".join(words),
            }
        )
        + "\n",
        encoding="utf-8",
    )
    assert cli("ingest", str(new), "--format", "jsonl").exit_code == 0
    assert _assignment()["new-1"] == biggest["label"]
    after = {t["id"]: t["size"] for t in cli("topics", "--brand", brand, "--json").json()["topics"]}
    assert after[biggest["id"]] == biggest["size"] + 1


def test_custom_intents_train_list_use_delete(db: Database, cli) -> None:
    train = FIXTURES / "clinc150_intents_train.csv"
    result = cli("intents", "train", str(train), "--name", "bank-demo", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["name"] == "bank-demo" and doc["examples"] == 60
    assert set(doc["labels"]) == {
        "transfer",
        "card_declined",
        "lost_luggage",
        "book_flight",
        "bill_balance",
        "order_status",
    }
    listed = cli("intents", "list", "--json").json()["intents"]
    assert [s["name"] for s in listed] == ["bank-demo"]
    evals = (FIXTURES / "clinc150_intents_eval.jsonl").read_text(encoding="utf-8")
    out = cli("analyze", "--intents", "bank-demo", input=evals)
    assert out.exit_code == 0, out.stderr
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    gold = {json.loads(line)["id"]: json.loads(line)["gold"] for line in evals.splitlines()}
    in_scope = [d for d in docs if gold[d["id"]] != "oos"]
    oos = [d for d in docs if gold[d["id"]] == "oos"]
    assert all(set(d["custom_intent"]) == {"label", "confidence"} for d in docs)
    correct = sum(1 for d in in_scope if d["custom_intent"]["label"] == gold[d["id"]])
    assert correct >= 0.8 * len(in_scope)
    mean_in = sum(d["custom_intent"]["confidence"] for d in in_scope) / len(in_scope)
    mean_oos = sum(d["custom_intent"]["confidence"] for d in oos) / len(oos)
    assert mean_oos < 0.5 * mean_in
    low = sum(1 for d in oos if d["custom_intent"]["confidence"] < 0.5)
    assert low >= 0.7 * len(oos)
    assert all(d["evidence"]["custom_intent"] for d in docs)
    # retraining replaces the set; deleting removes it for every worker
    again = cli("intents", "train", str(train), "--name", "bank-demo", "--json")
    assert again.exit_code == 0
    assert len(cli("intents", "list", "--json").json()["intents"]) == 1
    gone = cli("intents", "delete", "bank-demo")
    assert gone.exit_code == 0
    assert cli("intents", "list", "--json").json()["intents"] == []
    missing = cli("analyze", "--intents", "bank-demo", input='{"id": "1", "text": "hi"}\n')
    assert missing.exit_code == 1
    assert "no custom intent set named 'bank-demo'" in missing.stderr
    actions = [
        e["action"] for e in cli("audit", "--action", "analysis.*", "--json").json()["events"]
    ]
    assert actions == [
        "analysis.intents_delete",
        "analysis.intents_train",
        "analysis.intents_train",
    ]


def test_custom_intent_csv_errors_say_where(db: Database, cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,greet\n,greet\nbye,\n", encoding="utf-8")
    result = cli("intents", "train", str(bad), "--name", "x")
    assert result.exit_code == 1
    assert "line 3: empty text" in result.stderr and "line 4: empty label" in result.stderr
    one = tmp_path / "one.csv"
    one.write_text("text,label\nhello,greet\nhi there,greet\n", encoding="utf-8")
    result = cli("intents", "train", str(one), "--name", "x")
    assert result.exit_code == 1 and "at least 2 different labels" in result.stderr
    header = tmp_path / "header.csv"
    header.write_text("utterance,intent\nhello,greet\n", encoding="utf-8")
    result = cli("intents", "train", str(header), "--name", "x")
    assert result.exit_code == 1 and "text,label" in result.stderr
    assert cli("intents", "delete", "nope").exit_code == 1
