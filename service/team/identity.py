"""This server's ed25519 identity: created once, kept in `<data_dir>/team/identity.key` (0600)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_pem_private_key

from pipeline.errors import StoreError
from pipeline.team.signing import public_text, server_id, sign


@dataclass(frozen=True)
class ServerIdentity:
    key: Ed25519PrivateKey
    public_key: str
    id: str

    def sign(self, value: Any) -> str:
        return sign(self.key, value)


def load_identity(root: Path) -> ServerIdentity:
    """The server's key, made on first use; the file is written 0600 before the key goes in."""
    folder = root / "team"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "identity.key"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        tmp = folder / f".identity.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # a second starter keeps the first one's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    os.chmod(path, 0o600)
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise StoreError(f"{path} is not an ed25519 private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise StoreError(f"{path} is not an ed25519 private key")
    public = public_text(key.public_key())
    return ServerIdentity(key, public, server_id(public))
