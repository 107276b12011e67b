"""The OpenAPI document as the contract: FastAPI's, plus what only the running server knows.

FastAPI derives the document from the routes and api/schemas.py. Two things it cannot derive are
added here: the `JsonValue` schema that free-JSON fields refer to (the bounds of
pipeline/input_bounds.py), and the limits that are settings (`max_content_chars`,
`max_batch_items`), so a server run with other limits documents those. tests/api/test_openapi_contract.py
runs schemathesis over the result and fails on any request it describes wrongly.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas import CALLER_ERRORS, ERROR_WHEN
from configs import Settings
from pipeline.input_bounds import JSON_INT_MAX, JSON_INT_MIN

JSON_VALUE_MARKER = "x-memos-json-value"

JSON_VALUE: dict[str, Any] = {
    "description": "Any JSON value; numbers within ±(2**53 - 1), which every JSON reader and store keeps exactly.",
    "anyOf": [
        {"type": "string"},
        {"type": "number", "minimum": JSON_INT_MIN, "maximum": JSON_INT_MAX},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}},
    ],
}


def install(app: FastAPI, settings: Settings) -> None:
    """Make `app.openapi()` (and /openapi.json) the contract document for these settings."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            app.openapi_schema = with_server_limits(document, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_server_limits(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    document = _with_json_value_refs(document)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["JsonValue"] = JSON_VALUE
    _with_shared_errors(document)
    for name, schema in schemas.items():
        props = schema.get("properties", {})
        if name.startswith(("MemoryIn", "MemoryPatch")) and "content" in props:
            _bound(props["content"], "maxLength", settings.max_content_chars)
        if name.startswith("BatchIn") and "items" in props:
            props["items"]["maxItems"] = settings.max_batch_items
    return document


def _with_shared_errors(document: dict[str, Any]) -> None:
    """Each operation states the errors the layers it shares can give, in the one error shape.

    The layers every route passes through answer for it: the caller dependency (api/deps.py: a bad or
    doubled caller header, 400; no key, 401; starting, 503; and a new agent's cube is a write, 507),
    the body parser and BodyLimit (400, 413, 422), and api/errors.py, which answers every 422 as
    `ErrorOut`, never as FastAPI's `HTTPValidationError`. Stating them here, from what each operation
    takes, keeps a new router's operations exact without each having to repeat them.
    """
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            names = {(p.get("in"), p.get("name")) for p in operation.get("parameters", [])}
            shared: set[int] = set()
            if ("header", "x-agent-id") in names:
                shared |= set(CALLER_ERRORS)
            if "requestBody" in operation:
                shared |= {400, 413, 422}
            responses = operation.setdefault("responses", {})
            for status in sorted(shared):
                responses.setdefault(str(status), {"description": ERROR_WHEN[status]})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {"application/json": {"schema": error_ref}}
    for unused in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(unused, None)


def _with_json_value_refs(node: Any) -> Any:
    """The document with each free-JSON marker (api/schemas.py JSON_VALUE_REF) made a $ref to JsonValue."""
    if isinstance(node, dict):
        if node.get(JSON_VALUE_MARKER):
            rest = {k: v for k, v in node.items() if k != JSON_VALUE_MARKER}
            return {"$ref": "#/components/schemas/JsonValue", **rest}
        return {k: _with_json_value_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_json_value_refs(v) for v in node]
    return node


def _bound(schema: dict[str, Any], key: str, value: int) -> None:
    """Set a bound on a string schema, or on its string branch when it may also be null."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch[key] = value
