"""Schemathesis hooks for the contract test (tests/api/test_openapi_contract.py).

Two rules of the API are beyond JSON Schema: a search's `until` must be later than its `since`
(a comparison of two fields), and an image write's bytes must be an image. The OpenAPI says so in
the fields' descriptions and the server answers 422 (415, 413); the generator is told the first rule
here, so that a request it calls valid is one, and leaves image writes to tests/api/test_images.py.
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


@schemathesis.hook.apply_to(path="/v1/memories", method="POST")("filter_case")
def image_writes_are_left_to_their_own_tests(context: Any, case: Any) -> bool:
    """An image's bytes (base64 `image`, or the multipart `file`) are valid only when they decode as an
    image, which no schema can say of a string; generated ones are refused (415, 422, 413) as they
    should be. tests/api/test_images.py writes real images, and bad ones, both ways."""
    if case.media_type == "multipart/form-data":
        return False
    body = case.body
    return not (isinstance(body, dict) and isinstance(body.get("image"), str))
