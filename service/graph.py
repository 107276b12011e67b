"""Reading what is known around a memory: the graph of its links, and its history of versions."""

from __future__ import annotations

from typing import Any

from pipeline.access import Caller
from pipeline.errors import NotFound
from pipeline.timefmt import to_iso
from service.locate import CubeLocator
from storage.read_side import ReadSide


class GraphService:
    def __init__(self, locate: CubeLocator, read: ReadSide) -> None:
        self._locate, self._read = locate, read

    def graph(self, caller: Caller, memory_id: str, depth: int, types: set[str] | None, cube_id: str | None) -> dict:
        """Nodes and edges within `depth` links of the memory, in both directions."""
        cube = self._locate.holder(caller, memory_id, cube_id)
        with self._read.cube(cube.id) as store:
            found = store.graph(memory_id, depth, types)
            records = store.get_many(found["nodes"])
            nodes = []
            for node in found["nodes"]:
                rec = records.get(node)
                if rec is not None:
                    nodes.append({"id": node, "type": "memory", "tier": rec.tier, "kind": rec.kind,
                                  "status": rec.status, "content": rec.content[:200]})
                elif store.episode(node) is not None:
                    nodes.append({"id": node, "type": "episode", "task": store.episode(node)["task"]})
                else:
                    nodes.append({"id": node, "type": "external"})
        edges = [{"src": e["src"], "dst": e["dst"], "type": e["type"], "created_at": to_iso(e["created_at"])}
                 for e in found["edges"]]
        return {"root": memory_id, "cube": cube.id, "nodes": nodes, "edges": edges}

    def history(self, caller: Caller, memory_id: str, cube_id: str | None) -> dict[str, Any]:
        """Every version of the memory, oldest first, and the facts it superseded or was superseded by."""
        cube = self._locate.holder(caller, memory_id, cube_id)
        with self._read.cube(cube.id) as store:
            current = store.get(memory_id)
            if current is None:
                raise NotFound(f"memory {memory_id} does not exist")
            versions = [{**v, "updated_at": to_iso(v["updated_at"])} for v in store.versions(memory_id)]
            links = store.links_of(memory_id)
            feedback = [{**f, "at": to_iso(f["at"])} for f in store.feedback_of(memory_id)]
        versions.append({"version": current.version, "kind": current.kind, "content": current.content,
                         "tags": current.tags, "metadata": current.metadata,
                         "updated_at": to_iso(current.updated_at), "status": current.status})
        return {
            "id": memory_id, "cube": cube.id, "versions": versions,
            "supersedes": [l["dst"] for l in links if l["type"] == "supersedes" and l["src"] == memory_id],
            "superseded_by": [l["src"] for l in links if l["type"] == "supersedes" and l["dst"] == memory_id],
            "feedback": feedback,
        }
