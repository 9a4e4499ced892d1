"""Thread formation: reply links grouped into connected components.

Pure bookkeeping, no I/O: the service feeds it the batch's messages, the
stored messages and threads they link to, and gets back, per component, the
stored threads it touches (to merge) and the new messages in it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


class UnionFind:
    """Disjoint sets over hashable keys, with path halving and union by size."""

    def __init__(self) -> None:
        self._parent: dict[object, object] = {}
        self._size: dict[object, int] = {}

    def add(self, key: object) -> None:
        if key not in self._parent:
            self._parent[key] = key
            self._size[key] = 1

    def find(self, key: object) -> object:
        self.add(key)
        parent = self._parent
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(self, a: object, b: object) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]

    def groups(self) -> dict[object, list[object]]:
        out: dict[object, list[object]] = defaultdict(list)
        for key in self._parent:
            out[self.find(key)].append(key)
        return out


@dataclass
class Component:
    """New messages (by external id) and the stored threads they join."""

    new_external_ids: list[str] = field(default_factory=list)
    stored_thread_ids: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _StoredThread:
    thread_id: int


def group_components(
    new_ids: list[str],
    links: list[tuple[str, str]],
    stored_links: list[tuple[str, int]],
) -> list[Component]:
    """Connected components of the batch.

    ``links``: pairs of new external ids linked by a reply.
    ``stored_links``: (new external id, stored thread id) pairs, from links to
    stored messages in either direction.
    """
    uf = UnionFind()
    for ext in new_ids:
        uf.add(ext)
    for a, b in links:
        uf.union(a, b)
    for ext, thread_id in stored_links:
        uf.union(ext, _StoredThread(thread_id))
    components: list[Component] = []
    for members in uf.groups().values():
        comp = Component()
        for key in members:
            if isinstance(key, _StoredThread):
                comp.stored_thread_ids.add(key.thread_id)
            else:
                comp.new_external_ids.append(str(key))
        if comp.new_external_ids:
            components.append(comp)
    return components
