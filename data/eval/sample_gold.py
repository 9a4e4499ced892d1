"""Draw the messages of the intent gold set (seed 4), as they were drawn.

    python data/eval/sample_gold.py > /tmp/candidates.jsonl

Every drawn message was then read and labelled by hand following
INTENT_GUIDE.md; the labelled result is intent_gold.jsonl (same order).
"""

import csv
import json
import random
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def main() -> None:
    rng = random.Random(4)
    out = []
    with (DATA / "twcs/twcs_head_5k.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    inbound = [r for r in rows if r["inbound"] == "True" and r["text"].strip()]
    outbound = [r for r in rows if r["inbound"] == "False" and r["text"].strip()]
    for r in rng.sample(inbound, 390):
        out.append({"id": "twcs:" + r["tweet_id"], "source": "twcs_inbound", "text": r["text"]})
    for r in rng.sample(outbound, 150):
        out.append({"id": "twcs:" + r["tweet_id"], "source": "twcs_outbound", "text": r["text"]})
    seen: set[str] = set()
    airline = []
    with (DATA / "sentiment/airline_tweets.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["tweet_id"] not in seen:
                seen.add(r["tweet_id"])
                airline.append(r)
    for r in rng.sample(airline, 200):
        out.append({"id": "airline:" + r["tweet_id"], "source": "airline", "text": r["text"]})
    reviews = []
    with (DATA / "reviews/amazon_alexa.tsv").open(encoding="utf-8-sig", newline="") as fh:
        for line, r in enumerate(csv.DictReader(fh, delimiter="\t"), start=2):
            if r["verified_reviews"].strip():
                reviews.append((line, r))
    for line, r in rng.sample(reviews, 130):
        text = r["verified_reviews"].strip()
        out.append({"id": f"reviews:{line}", "source": "reviews", "text": text})
    rng.shuffle(out)
    for o in out:
        sys.stdout.write(json.dumps(o, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
