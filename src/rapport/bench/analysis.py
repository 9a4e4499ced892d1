"""Analysis throughput per tier, as ratios to VADER measured in the same
run, and ingest + analysis end to end against ingest alone.

Each figure is measured in a fresh subprocess (`python -m
rapport.bench.analysis MODE ...`) so model loading and memory of one step
do not skew another. Texts: the 5,000 real TWCS tweets shipped as the demo,
repeated to the requested size.
"""

from __future__ import annotations

import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rapport.bench import BenchOptions, BenchResult
from rapport.bench.datagen import write_twcs_like

DEMO = Path(__file__).resolve().parents[1] / "demo" / "twcs_head_5k.csv"


def demo_texts(n: int) -> list[str]:
    with DEMO.open(encoding="utf-8", newline="") as fh:
        texts = [r["text"] for r in csv.DictReader(fh)]
    return [texts[i % len(texts)] for i in range(n)]


def _probe(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "rapport.bench.analysis", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# ----------------------------------------------------------------- probes (subprocess side)


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def probe_vader(n: int) -> dict[str, Any]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts = demo_texts(n)
    sia = SentimentIntensityAnalyzer()
    sia.polarity_scores("warm up")
    started = time.perf_counter()
    for t in texts:
        sia.polarity_scores(t)
    return {"n": n, "seconds": time.perf_counter() - started}


def probe_tier(tier: str, n: int) -> dict[str, Any]:
    from rapport.analysis import engine

    texts = demo_texts(n)
    engine.analyze_texts(texts[:64], tier=tier)  # load models outside the timing
    started = time.perf_counter()
    for i in range(0, n, 1000):
        engine.analyze_texts(texts[i : i + 1000], tier=tier)
    return {"n": n, "seconds": time.perf_counter() - started}


def probe_ingest(url: str, path: str, with_analysis: bool) -> dict[str, Any]:
    import os

    os.environ["RAPPORT_DATABASE_URL"] = url
    from rapport import pipeline
    from rapport.conversations import hooks
    from rapport.conversations.service import do_ingest_files
    from rapport.storage.migrate import upgrade

    pipeline.install()
    if with_analysis:
        from rapport.analysis.loading import fast_model, general_topics

        fast_model()
        general_topics()
    else:
        hooks.remove_hook("analysis.understand")
    upgrade(url)
    started = time.perf_counter()
    summary = do_ingest_files([Path(path)], fmt="twcs")
    return {"n": summary.inserted, "seconds": time.perf_counter() - started}


def main() -> None:
    mode = sys.argv[1]
    if mode == "vader":
        result = probe_vader(int(sys.argv[2]))
    elif mode == "tier":
        result = probe_tier(sys.argv[2], int(sys.argv[3]))
    else:
        result = probe_ingest(sys.argv[2], sys.argv[3], mode == "ingest-analysis")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(json.dumps(result) + "\n")


# ----------------------------------------------------------------- the benchmark


def run(options: BenchOptions) -> list[BenchResult]:
    n = max(1000, min(options.size, 50_000))
    n_accurate = max(200, min(n // 10, 2000))
    vader = _probe("vader", str(n))
    fast = _probe("tier", "fast", str(n))
    accurate = _probe("tier", "accurate", str(n_accurate))
    v_rate = _rate(vader["n"], vader["seconds"])
    f_rate = _rate(fast["n"], fast["seconds"])
    a_rate = _rate(accurate["n"], accurate["seconds"])
    results = [
        BenchResult(
            "analysis.tiers",
            {
                "messages_fast": n,
                "messages_accurate": n_accurate,
                "vader_msg_per_s": round(v_rate),
                "fast_msg_per_s": round(f_rate),
                "fast_ratio_to_vader": round(f_rate / v_rate, 3) if v_rate else None,
                "accurate_msg_per_s": round(a_rate, 1),
                "accurate_ratio_to_vader": round(a_rate / v_rate, 4) if v_rate else None,
                "fast_peak_rss_mb": round(fast["peak_rss_mb"], 1),
                "accurate_peak_rss_mb": round(accurate["peak_rss_mb"], 1),
            },
            notes="one process, real TWCS tweets; fast = all stages (language, sentiment, "
            "intent, urgency, topics, evidence); VADER = polarity_scores only",
        )
    ]
    size = max(1000, options.size)
    with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
        data = Path(tmp) / "twcs_like.csv"
        write_twcs_like(data, size)
        plain = _probe("ingest-plain", f"sqlite:///{tmp}/plain.db", str(data))
        full = _probe("ingest-analysis", f"sqlite:///{tmp}/full.db", str(data))
    p_rate = _rate(plain["n"], plain["seconds"])
    e_rate = _rate(full["n"], full["seconds"])
    results.append(
        BenchResult(
            "analysis.ingest_end_to_end.sqlite",
            {
                "messages": size,
                "ingest_and_analysis_msg_per_s": round(e_rate),
                "ingest_only_msg_per_s": round(p_rate),
                "ratio_to_ingest_only": round(e_rate / p_rate, 3) if p_rate else None,
                "seconds": round(full["seconds"], 2),
                "peak_rss_mb": round(full["peak_rss_mb"], 1),
            },
            notes="rapport ingest with the fast analysis in the same transaction vs the same "
            "import with the analysis hook removed",
        )
    )
    return results


if __name__ == "__main__":
    main()
