"""Ed25519 signatures over canonical JSON (RFC 8785), and the key and id forms servers exchange.

A signature covers the canonical bytes of a JSON value, so any change to the value in transit, a
reordered key excepted, makes it fail. Keys and signatures travel as unpadded base64url text.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pipeline.errors import Invalid
from pipeline.interchange.formats.canonical_json import canonical

SERVER_ID = re.compile(r"srv-[0-9a-f]{20}")
SERVER_ID_PATTERN = r"^srv-[0-9a-f]{20}$"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise Invalid("not base64url text") from None


def public_text(key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def load_public(text: str) -> Ed25519PublicKey:
    raw = unb64(text) if isinstance(text, str) else b""
    if len(raw) != 32:
        raise Invalid("a public key is 32 bytes of ed25519, base64url")
    return Ed25519PublicKey.from_public_bytes(raw)


def server_id(public_key: str) -> str:
    """A server's id follows from its public key, so a key cannot claim another server's id."""
    return "srv-" + hashlib.sha256(unb64(public_key)).hexdigest()[:20]


def message(value: Any) -> bytes:
    return canonical(value).encode("utf-8")


def sign(key: Ed25519PrivateKey, value: Any) -> str:
    return b64(key.sign(message(value)))


def verifies(public_key: str, value: Any, signature: str) -> bool:
    """Whether `signature` is `public_key`'s over `value`; malformed keys or signatures do not verify."""
    try:
        load_public(public_key).verify(unb64(signature), message(value))
    except (InvalidSignature, Invalid, ValueError, TypeError):
        return False
    return True
