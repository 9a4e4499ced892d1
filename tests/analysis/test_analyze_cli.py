"""`rapport analyze`: the JSONL contract on any input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CONTRACT_KEYS = {
    "id",
    "sentiment",
    "sentiment_score",
    "intent",
    "urgency",
    "language",
    "topics",
    "evidence",
}
SENTIMENTS = {"negative", "neutral", "positive"}
INTENTS = {"question", "request", "complaint", "praise", "feedback", "chatter"}


def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def _check(doc: dict) -> None:
    assert set(doc) >= CONTRACT_KEYS
    assert doc["sentiment"] in SENTIMENTS
    assert -1.0 <= doc["sentiment_score"] <= 1.0
    assert doc["intent"] in INTENTS
    assert 0.0 <= doc["urgency"] <= 1.0
    assert isinstance(doc["language"], str) and doc["language"]
    assert isinstance(doc["topics"], list) and all(isinstance(t, str) for t in doc["topics"])
    assert all(
        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in doc["evidence"].values()
    )
    assert doc["evidence"]["sentiment"]


def test_bad_lines_give_error_lines_and_the_run_goes_on(cli) -> None:
    lines = [
        '{"id": "a", "text": "@united lost my bag again, this is ridiculous"}',
        '{"id": "b", "text": ',
        '{"id": "c"}',
        '{"id": "d", "text": null}',
        "[1, 2]",
        "",
        '{"id": "e", "text": "thanks, that fixed it!", "channel": "twitter", "n": 3}',
    ]
    result = cli("analyze", input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    out = _lines(result.stdout)
    assert [d["id"] for d in out] == ["a", None, "c", "d", None, None, "e"]
    for i in (1, 2, 3, 4, 5):
        assert set(out[i]) == {"id", "error"}
        assert out[i]["error"].startswith(f"line {i + 1}:")
    assert "not valid JSON" in out[1]["error"]
    assert "missing field 'text'" in out[2]["error"]
    assert "must be a string" in out[3]["error"]
    assert "expected a JSON object" in out[4]["error"]
    _check(out[0])
    _check(out[6])
    assert out[0]["sentiment"] == "negative" and out[0]["intent"] == "complaint"
    assert out[6]["channel"] == "twitter" and out[6]["n"] == 3  # carried through
    assert "text" not in out[6]
    assert "5 of 7 line(s)" in result.stderr


def test_a_clean_file_exits_0_with_one_line_per_input(cli, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    texts = [
        "Where is my order? It was due Monday",
        "Bonjour, je n'arrive pas à me connecter depuis hier",
        "I love my new Echo!",
    ]
    src.write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    result = cli("analyze", str(src))
    assert result.exit_code == 0, result.stderr
    out = _lines(result.stdout)
    assert [d["id"] for d in out] == ["0", "1", "2"]
    for d in out:
        _check(d)
    assert [d["language"] for d in out] == ["en", "fr", "en"]
    assert out[2]["sentiment"] == "positive"


def test_hard_texts_are_handled(cli, tmp_path: Path) -> None:
    src = tmp_path / "hard.jsonl"
    big = "my internet is down again " * 4200  # ~105 kB
    with src.open("wb") as fh:
        fh.write(json.dumps({"id": "empty", "text": ""}).encode() + b"\n")
        fh.write(json.dumps({"id": "big", "text": big}).encode() + b"\n")
        fh.write(b'{"id": "bytes", "text": "caf\xe9 au lait is cold \xff"}\n')
        fh.write(json.dumps({"id": "emoji", "text": "😡😡🤬"}, ensure_ascii=False).encode() + b"\n")
        fh.write(
            json.dumps(
                {"id": "ja", "text": "荷物が届きません。どうなっていますか？"}, ensure_ascii=False
            ).encode()
            + b"\n"
        )
    result = cli("analyze", str(src))
    assert result.exit_code == 0, result.stderr
    out = {d["id"]: d for d in _lines(result.stdout)}
    for d in out.values():
        _check(d)
    assert out["empty"]["sentiment"] == "neutral" and out["empty"]["intent"] == "chatter"
    assert any("truncated" in n for n in out["big"]["evidence"]["notes"])
    assert any("invalid UTF-8" in n for n in out["bytes"]["evidence"]["notes"])
    assert "invalid UTF-8" in result.stderr
    assert out["emoji"]["language"] == "und" and out["emoji"]["sentiment"] == "negative"
    assert out["ja"]["language"] == "ja"


def test_missing_file_is_refused(cli, tmp_path: Path) -> None:
    result = cli("analyze", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    assert "no such file" in result.stderr
    assert result.stdout == ""


def test_repetition_and_reach_keys_raise_urgency(cli) -> None:
    line = {"text": "@Brand still no refund for my cancelled order", "author": "u1"}
    lines = [
        json.dumps({**line, "id": "1"}),
        json.dumps({**line, "id": "2"}),
        json.dumps({**line, "id": "3", "followers": 250_000, "retweets": 40}),
    ]
    result = cli("analyze", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    out = _lines(result.stdout)
    assert out[0]["urgency"] < out[1]["urgency"] < out[2]["urgency"]
    assert any("repeated" in r for r in out[2]["evidence"]["urgency"])
    assert any("reach" in r for r in out[2]["evidence"]["urgency"])


@pytest.mark.slow
def test_accurate_tier_meets_the_same_contract(cli) -> None:
    lines = [
        json.dumps({"id": "1", "text": "@Delta best crew ever, thank you!"}),
        json.dumps({"id": "2", "text": "@Delta three hours on the tarmac, no water, awful"}),
        "not json",
        json.dumps({"id": "4", "text": ""}),
    ]
    result = cli("analyze", "--tier", "accurate", input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    out = _lines(result.stdout)
    _check(out[0])
    _check(out[1])
    _check(out[3])
    assert out[0]["sentiment"] == "positive" and out[1]["sentiment"] == "negative"
    assert out[2]["error"].startswith("line 3:")
