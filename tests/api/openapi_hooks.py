"""Schemathesis hooks for the contract test (tests/api/test_openapi_contract.py).

One rule of the API is beyond JSON Schema: a search's `until` must be later than its `since`
(a comparison of two fields). The OpenAPI says so in the field's description and the server
answers 422; the generator is told the same rule here, so that a request it calls valid is one.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from pipeline.input_bounds import parse_time
from pipeline.timefmt import to_ms


@schemathesis.hook.apply_to(path="/v1/search", method="POST")
def filter_case(context: Any, case: Any) -> bool:
    """Every generation phase (the coverage phase too) asks this hook; a body hook is asked by some only."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("since"), str) or not isinstance(body.get("until"), str):
        return True
    try:
        return to_ms(parse_time(body["until"])) > to_ms(parse_time(body["since"]))
    except ValueError:
        return True  # not times at all: a negative case the server refuses for its own reason
