"""Writing the analysed conversation graph for Gephi (GraphML, GEXF) with
networkx's writers: nodes carry kind, label, community and influence; edges
carry weight, tie strength, counts and the reason."""

from __future__ import annotations

import io
from typing import Any

import networkx as nx

from rapport.network.errors import ExportFormatError

FORMATS = ("graphml", "gexf")


def to_networkx(report: dict[str, Any]) -> Any:
    graph = nx.Graph()
    for node in report["nodes"]:
        graph.add_node(
            node["id"],
            label=node["label"],
            kind=node["kind"],
            community=int(node["community"]),
            influence=float(node["influence"]),
            pagerank=float(node["pagerank"]),
            reach=int(node["reach"]),
        )
    for edge in report["edges"]:
        graph.add_edge(
            edge["source"],
            edge["target"],
            weight=float(edge["weight"]),
            tie=edge["tie"],
            replies=int(edge["replies"]),
            mentions=int(edge["mentions"]),
            reciprocity=float(edge["reciprocity"]),
            last_at=edge["last_at"] or "",
            reason=edge["reason"],
        )
    return graph


def export_graph(report: dict[str, Any], fmt: str) -> bytes:
    """The graph serialised as ``fmt`` (`graphml` or `gexf`)."""
    if fmt not in FORMATS:
        raise ExportFormatError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    graph = to_networkx(report)
    buffer = io.BytesIO()
    if fmt == "graphml":
        nx.write_graphml(graph, buffer, encoding="utf-8")
    else:
        nx.write_gexf(graph, buffer, encoding="utf-8")
    return buffer.getvalue()
