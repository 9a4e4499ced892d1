"""Reading an edge list: one `u v` (or `u v weight`) per line, separated by
spaces, tabs or a comma; `#` and `%` start comments; blank lines are skipped.

Malformed lines (one field, more than three, a weight that is not a
positive number, a self-loop) are reported with their line number and
skipped: the rest of the file is still read. The graph is undirected unless
asked otherwise; an edge listed twice (in either direction) counts once
(weights add up) and the repeats are counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from rapport.network.errors import NetworkError

MAX_REPORTED = 1000


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str
    text: str


@dataclass
class EdgeList:
    """Nodes (labels as written, in first-seen order) and unique edges."""

    source: str
    directed: bool
    nodes: list[str] = field(default_factory=list)
    #: (u index, v index) per unique edge.
    edges: list[tuple[int, int]] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    weighted: bool = False
    lines: int = 0
    comments: int = 0
    duplicates: int = 0
    malformed: list[BadLine] = field(default_factory=list)
    malformed_count: int = 0


def read_edge_list(path: Path, *, directed: bool = False) -> EdgeList:
    """Parse ``path``; raises `NetworkError` only when it cannot be read at all."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NetworkError(f"{path}: no such file") from None
    except OSError as exc:
        raise NetworkError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_edge_list(raw, source=str(path), directed=directed)


def parse_edge_list(raw: bytes, *, source: str = "<edges>", directed: bool = False) -> EdgeList:
    result = EdgeList(source=source, directed=directed)
    index: dict[str, int] = {}
    seen: dict[tuple[int, int], int] = {}
    nodes = result.nodes

    def bad(line: int, reason: str, text: str) -> None:
        result.malformed_count += 1
        if len(result.malformed) < MAX_REPORTED:
            result.malformed.append(BadLine(line, reason, text[:200]))

    def node(label: str) -> int:
        found = index.get(label)
        if found is None:
            found = index[label] = len(nodes)
            nodes.append(label)
        return found

    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        result.lines = number
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad(number, f"not UTF-8 (byte {exc.start})", line_bytes.decode("utf-8", "replace"))
            continue
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] in "#%":
            result.comments += 1
            continue
        fields = stripped.replace(",", " ").split()
        if len(fields) < 2:
            bad(number, "one field: an edge needs two node ids", stripped)
            continue
        if len(fields) > 3:
            bad(number, f"{len(fields)} fields: expected `u v` or `u v weight`", stripped)
            continue
        weight = 1.0
        if len(fields) == 3:
            try:
                weight = float(fields[2])
            except ValueError:
                bad(number, f"weight {fields[2]!r} is not a number", stripped)
                continue
            if not math.isfinite(weight) or weight <= 0:
                bad(number, f"weight {fields[2]!r} must be a positive number", stripped)
                continue
            result.weighted = True
        u_label, v_label = fields[0], fields[1]
        if u_label == v_label:
            bad(number, f"self-loop ({u_label} → {u_label}) ignored", stripped)
            continue
        u, v = node(u_label), node(v_label)
        key = (u, v) if directed or u < v else (v, u)
        at = seen.get(key)
        if at is not None:
            result.duplicates += 1
            result.weights[at] += weight
            continue
        seen[key] = len(result.edges)
        result.edges.append(key)
        result.weights.append(weight)
    return result
