"""`memos keys create|ls|revoke`: API keys, managed on the data directory itself (not over HTTP)."""

from __future__ import annotations

import typer

from api.cli.output import JsonOpt, emit, errors_as_exit, settings
from pipeline.ids import check_agent_id
from pipeline.timefmt import to_iso
from storage.api_keys import ApiKeys, KeyRecord
from storage.audit_log import AuditLog
from storage.paths import DataPaths

app = typer.Typer(help="API keys (works on MEMOS_DATA_DIR directly; the server may be running).",
                  no_args_is_help=True)


def stores() -> tuple[ApiKeys, AuditLog]:
    """The registry's keys and audit log on MEMOS_DATA_DIR (`memos auth` uses them too)."""
    paths = DataPaths(settings().data_dir)
    paths.ensure()
    return ApiKeys(paths.registry_db), AuditLog(paths.registry_db)


def _view(k: KeyRecord) -> dict:
    return {"id": k.id, "agent": k.agent, "admin": k.admin, "created_at": to_iso(k.created_at),
            "revoked_at": to_iso(k.revoked_at) if k.revoked_at else None}


@app.command()
def create(
    agent: str = typer.Option(..., "--agent", help="The agent this key acts as."),
    admin: bool = typer.Option(False, "--admin", help="An operator key: manage any cube, reindex, read the whole audit."),
    as_json: bool = JsonOpt,
) -> None:
    """Create a key; it is printed once and stored only as a hash. Auth turns on with the first key
    and stays on, even once every key is revoked, until `memos auth off`.

    Example: memos keys create --agent alice --json
    """
    with errors_as_exit():
        check_agent_id(agent)
        keys, audit = stores()
        record, key = keys.create(agent, admin)
        audit.record("cli", "key.create", target=agent, details={"key_id": record.id, "admin": admin})
    emit({"agent": agent, "key": key, "id": record.id, "admin": admin}, as_json,
         lambda o: f"{o['key']}\n(key id {o['id']} for agent {o['agent']}; shown once, store it now)")


@app.command("ls")
def list_keys(as_json: bool = JsonOpt) -> None:
    """List keys (ids and agents, never the secrets).

    Example: memos keys ls --json
    """
    with errors_as_exit():
        keys, _ = stores()
        out = [_view(k) for k in keys.list()]
    emit(out, as_json, lambda ks: "\n".join(
        f"{k['id']}  {k['agent']}{' (admin)' if k['admin'] else ''}  {'revoked ' + k['revoked_at'] if k['revoked_at'] else 'active'}"
        for k in ks) or "(no keys: auth is off on loopback)")


@app.command()
def revoke(key_id: str = typer.Argument(..., help="The key's id (from `memos keys ls`)."), as_json: bool = JsonOpt) -> None:
    """Revoke a key; the server refuses it from the next request on. Auth stays on after the last one.

    Example: memos keys revoke 3k9x0q2m7a1b
    """
    with errors_as_exit():
        keys, audit = stores()
        record = keys.revoke(key_id)
        audit.record("cli", "key.revoke", target=record.agent, details={"key_id": record.id})
    emit(_view(record), as_json, lambda k: f"revoked {k['id']} ({k['agent']})")
