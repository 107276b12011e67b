"""RFC 8785 JSON Canonicalization (JCS), which PAM's integrity checksum is computed over.

Keys sorted by UTF-16 code units, no white space, strings escaped as ECMAScript's JSON.stringify
escapes them, numbers written as ECMAScript writes a double (`1.0` is `1`, `1e-7` is `1e-7`).
Plain `json.dumps(sort_keys=True)` differs on numbers, so PAM checksums would not match.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def _number(value: int | float) -> str:
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        raise ValueError("JSON has no representation for NaN or infinity")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    text = repr(abs(x))  # the shortest digits that round-trip, as ECMAScript also picks
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    power = int(exp or 0) - len(frac)
    stripped = digits.rstrip("0")
    power += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = power + k  # the value is 0.<digits> x 10^n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        body = "0." + "0" * -n + digits
    else:
        e = n - 1
        body = digits[0] + (f".{digits[1:]}" if k > 1 else "") + f"e{'+' if e > 0 else '-'}{abs(e)}"
    return sign + body


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", errors="surrogatepass")


def canonical(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _utf16_key(kv[0]))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(v) for k, v in items) + "}"
    raise TypeError(f"{type(value).__name__} is not JSON")


def sha256_of(value: Any) -> str:
    """`sha256:<hex>` of the canonical UTF-8 bytes of `value`."""
    return "sha256:" + hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()
