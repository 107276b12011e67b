"""`memos auth status|off`: whether the server requires API keys, and turning that off again explicitly.

Works on MEMOS_DATA_DIR directly, like `memos keys`: whoever holds the data directory is the operator.
"""

from __future__ import annotations

import typer

from api.cli.keys import stores
from api.cli.output import JsonOpt, emit, errors_as_exit, settings
from pipeline.access import is_loopback

app = typer.Typer(help="Whether API keys are required (works on MEMOS_DATA_DIR directly).", no_args_is_help=True)


@app.command()
def status(as_json: bool = JsonOpt) -> None:
    """Whether the server requires API keys, and why.

    Example: memos auth status --json
    """
    with errors_as_exit():
        host = settings().host
        keys, _ = stores()
        required = keys.required()
        active = sum(1 for k in keys.list() if k.revoked_at is None)
    on = required or not is_loopback(host)
    why = (f"the server binds {host}, beyond loopback" if not is_loopback(host)
           else "API keys have been created" if required else "loopback and no API keys")
    emit({"auth": "on" if on else "off", "reason": why, "active_keys": active}, as_json,
         lambda o: f"auth {o['auth']}: {o['reason']} ({o['active_keys']} active key(s))")


@app.command()
def off(as_json: bool = JsonOpt) -> None:
    """Stop requiring API keys: a loopback server trusts X-Agent-Id again. Refused while a key is active.

    Revoking the last key does not do this: auth stays on until this command runs.

    Example: memos auth off
    """
    with errors_as_exit():
        keys, audit = stores()
        keys.stop_requiring()
        audit.record("cli", "auth.off")
    emit({"auth": "off"}, as_json, lambda _: "auth off: a loopback server trusts X-Agent-Id again")
