"""Graph: an interactive graph around a memory (depth 1–3, an edge-type filter); a click opens a node."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.web.page import PageRoute, UiDep
from pipeline.errors import Invalid
from pipeline.ids import MEMORY_ID

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# The link types the server makes (docs/api.md); a graph's own types are offered too.
KNOWN_TYPES = ("derived_from", "part_of_episode", "supersedes", "near_duplicate", "duplicate_of", "uses_skill",
               "related")


@router.get("/ui/graph")
def graph_page(
    ui: UiDep,
    memory: Annotated[str, Query(max_length=128)] = "",
    depth: Annotated[int, Query(ge=1, le=3)] = 1,
    types: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 (FastAPI copies the default)
    cube: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    memory = memory.strip()
    graph, offered = None, list(KNOWN_TYPES)
    if memory:
        if not MEMORY_ID.fullmatch(memory):
            raise Invalid(f"{memory[:80]!r} is not a memory id")
        wanted = {t for t in types if t} or None
        graph = ui.rt.graph.graph(ui.caller, memory, depth, wanted, cube or None)
        everything = graph if wanted is None else ui.rt.graph.graph(ui.caller, memory, depth, None, graph["cube"])
        offered += sorted({e["type"] for e in everything["edges"]} - set(KNOWN_TYPES))
    elements = _elements(graph) if graph else None
    return ui.page("graph.html", "Graph", title="Graph", memory=memory, depth=depth, types=set(types),
                   offered=offered, graph=graph, elements=elements)


def _elements(graph: dict) -> list[dict]:
    """Cytoscape's elements: a node per memory, episode or outside id, an edge per link."""
    cube = graph["cube"]
    nodes = []
    for node in graph["nodes"]:
        if node["type"] == "memory":
            label, href = (node["content"].splitlines() or [""])[0][:48], f"/ui/memories/{node['id']}?cube={cube}"
        elif node["type"] == "episode":
            label, href = f"episode: {node['task'][:40]}", f"/ui/episodes/{node['id']}?cube={cube}"
        else:
            label, href = node["id"], None
        nodes.append({"data": {"id": node["id"], "label": label or node["id"], "kind": node.get("kind", node["type"]),
                               "root": node["id"] == graph["root"], "href": href}})
    edges = [{"data": {"id": f"{e['src']}|{e['type']}|{e['dst']}", "source": e["src"], "target": e["dst"],
                       "label": e["type"]}} for e in graph["edges"]]
    return nodes + edges
