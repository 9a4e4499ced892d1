"""Network benchmarks, each against a baseline measured in the same run.

- `network.ego_facebook`: the full `rapport network analyze` of SNAP
  ego-Facebook (read, communities, influence) vs reading the same edge list
  into a bare networkx graph; plus the community algorithms side by side
  (igraph Leiden — the one Rapport uses —, networkx Louvain, leidenalg
  when installed), each with its modularity.
- `network.graph_build`: generated TWCS-shaped conversations (1M messages
  with `--scale`, else `--size`) stored through the bulk import with the
  network hook off; then the graph built from them (`do_rebuild_graph`:
  interactions + ties) vs a baseline of one SQL join of reply pairs loaded
  into a bare networkx DiGraph; then the analysis of that graph (load,
  communities, influence). The incremental path (the ingest hook) is timed
  on a slice: ingest with the hook vs without.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from rapport.bench import BenchOptions, BenchResult
from rapport.bench.datagen import write_twcs_like

EGO_CANDIDATES = (
    os.environ.get("RAPPORT_EGO_FACEBOOK", ""),
    "../shared/data/network/facebook_combined.txt",
    "../../shared/data/network/facebook_combined.txt",
    "/work/shared/data/network/facebook_combined.txt",
)


def _ego_path() -> Path | None:
    for candidate in EGO_CANDIDATES:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def ego_facebook(options: BenchOptions) -> list[BenchResult]:
    import igraph as ig
    import networkx as nx

    from rapport.network import analytics
    from rapport.network.edgelist import read_edge_list
    from rapport.network.external import analyze_edge_file

    path = _ego_path()
    if path is None:
        return [
            BenchResult(
                "network.ego_facebook",
                notes="skipped: facebook_combined.txt not found (set RAPPORT_EGO_FACEBOOK)",
            )
        ]
    base_s, graph = _timed(lambda: nx.read_edgelist(path, nodetype=int))
    ours_s, doc = _timed(lambda: analyze_edge_file(path))
    edges = read_edge_list(path)
    g = analytics.build(len(edges.nodes), edges.edges)
    leiden_s, (_, leiden_q) = _timed(lambda: analytics.communities(g, weighted=False))
    louvain_s, parts = _timed(lambda: nx.community.louvain_communities(graph, seed=42))
    louvain_q = nx.community.modularity(graph, parts)
    multilevel_s, ml = _timed(lambda: g.community_multilevel())
    figures: dict[str, Any] = {
        "nodes": doc["nodes"],
        "edges": doc["edges"],
        "communities": doc["communities"],
        "modularity": doc["modularity"],
        "analyze_seconds": round(ours_s, 3),
        "baseline_nx_read_edgelist_seconds": round(base_s, 3),
        "ratio_to_baseline": round(ours_s / base_s, 2) if base_s else None,
        "igraph_leiden_seconds": round(leiden_s, 3),
        "igraph_leiden_modularity": round(leiden_q, 4),
        "networkx_louvain_seconds": round(louvain_s, 3),
        "networkx_louvain_modularity": round(louvain_q, 4),
        "igraph_multilevel_louvain_seconds": round(multilevel_s, 3),
        "igraph_multilevel_louvain_modularity": round(ml.modularity, 4),
        "louvain_over_leiden_time": round(louvain_s / leiden_s, 1) if leiden_s else None,
    }
    try:
        import leidenalg

        la_s, part = _timed(
            lambda: leidenalg.find_partition(g, leidenalg.ModularityVertexPartition, seed=42)
        )
        figures["leidenalg_seconds"] = round(la_s, 3)
        figures["leidenalg_modularity"] = round(part.modularity, 4)
    except ImportError:
        figures["leidenalg_seconds"] = None
    del ig
    return [
        BenchResult(
            "network.ego_facebook",
            figures,
            notes="full analysis (read + Leiden + PageRank/reach) vs nx.read_edgelist alone",
        )
    ]


def _store_without_hook(path: Path, url: str) -> tuple[float, int]:
    from rapport.conversations import hooks
    from rapport.conversations.service import do_ingest_files

    hooks.remove_hook("network.ties")
    try:
        seconds, summary = _timed(lambda: do_ingest_files([path], fmt="twcs"))
    finally:
        from rapport import pipeline

        pipeline.install()
    return seconds, summary.inserted


def _use(url: str) -> None:
    from rapport.settings import reset_settings_cache
    from rapport.storage.engine import dispose_engines
    from rapport.storage.migrate import upgrade

    dispose_engines()
    os.environ["RAPPORT_DATABASE_URL"] = url
    reset_settings_cache()
    upgrade(url)


def graph_build(options: BenchOptions) -> list[BenchResult]:
    import networkx as nx

    from rapport.conversations.service import do_ingest_files
    from rapport.network.queries import network_report
    from rapport.network.service import do_rebuild_graph
    from rapport.storage.engine import dispose_engines, session_scope

    size = 1_000_000 if options.scale else options.size
    previous_url = os.environ.get("RAPPORT_DATABASE_URL")
    results = []
    try:
        with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
            data = Path(tmp) / "twcs_like.csv"
            written = write_twcs_like(data, size)
            db_file = Path(tmp) / "graph.db"
            url = f"sqlite:///{db_file}"
            _use(url)
            store_s, stored = _store_without_hook(data, url)

            def baseline() -> Any:
                lite = sqlite3.connect(db_file)
                pairs = lite.execute(
                    "SELECT c.author_identity_id, p.author_identity_id FROM message c "
                    "JOIN message p ON p.channel_id = c.channel_id "
                    "AND p.external_id = c.parent_external_id"
                ).fetchall()
                lite.close()
                graph = nx.DiGraph()
                graph.add_edges_from(pairs)
                return graph

            base_s, bare = _timed(baseline)
            with session_scope(write=True) as session:
                build_s, built = _timed(lambda: do_rebuild_graph(session))
            with session_scope() as session:
                analyze_s, report = _timed(lambda: network_report(session, top=20))
            results.append(
                BenchResult(
                    "network.graph_build.sqlite",
                    {
                        "messages": stored,
                        "rows_generated": written,
                        "store_seconds_without_hook": round(store_s, 1),
                        "graph_build_seconds": round(build_s, 2),
                        "graph_build_msg_per_s": round(stored / build_s) if build_s else None,
                        "interactions": built.interactions,
                        "ties": built.ties,
                        "baseline_sql_join_plus_bare_networkx_seconds": round(base_s, 2),
                        "baseline_edges": bare.number_of_edges(),
                        "ratio_to_baseline": round(build_s / base_s, 2) if base_s else None,
                        "analyze_seconds": round(analyze_s, 2),
                        "nodes": report["summary"]["nodes"],
                        "communities": report["summary"]["communities"],
                        "modularity": report["modularity"],
                    },
                    notes="graph built from stored messages (interactions + ties) vs one SQL "
                    "join of reply pairs into a bare networkx DiGraph",
                )
            )
            # The incremental path: the ingest hook's cost on a slice.
            slice_rows = min(size, 50_000)
            slice_file = Path(tmp) / "slice.csv"
            slice_rows = write_twcs_like(slice_file, slice_rows, seed=random.randint(1, 10**6))
            timings = {}
            for label in ("without_hook", "with_hook"):
                slice_url = f"sqlite:///{tmp}/slice_{label}.db"
                _use(slice_url)
                if label == "without_hook":
                    timings[label], _ = _store_without_hook(slice_file, slice_url)
                else:
                    timings[label], _ = _timed(lambda: do_ingest_files([slice_file], fmt="twcs"))
            results.append(
                BenchResult(
                    "network.ingest_hook.sqlite",
                    {
                        "messages": slice_rows,
                        "ingest_seconds_with_network_hook": round(timings["with_hook"], 2),
                        "ingest_seconds_without": round(timings["without_hook"], 2),
                        "ratio_to_baseline": round(
                            timings["with_hook"] / timings["without_hook"], 3
                        )
                        if timings["without_hook"]
                        else None,
                    },
                    notes="incremental graph upkeep on ingest vs the same ingest without it",
                )
            )
    finally:
        dispose_engines()
        if previous_url is None:
            os.environ.pop("RAPPORT_DATABASE_URL", None)
        else:
            os.environ["RAPPORT_DATABASE_URL"] = previous_url
        from rapport.settings import reset_settings_cache

        reset_settings_cache()
    return results


def run(options: BenchOptions) -> list[BenchResult]:
    return [*ego_facebook(options), *graph_build(options)]
