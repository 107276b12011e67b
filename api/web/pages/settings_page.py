"""Settings: API keys and the server's settings (read-only) for operators, and the server's health for all."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import Response

from api.routers.health import health
from api.web.page import PageRoute, UiDep, see_other
from configs import Settings

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def shown_settings(settings: Settings) -> list[tuple[str, str]]:
    """Every setting but the secrets (fields declared `repr=False`: API keys), as name and value."""
    fields = Settings.model_fields
    return [(name, "(set)" if not fields[name].repr and value else str(value) if fields[name].repr else "")
            for name, value in settings.model_dump().items()]


@router.get("/ui/settings")
def settings_page(ui: UiDep) -> Response:
    manage = ui.rt.identities.may_manage_keys(ui.caller)
    keys = ui.rt.identities.keys(ui.caller) if manage else None
    new_key, ui.session.new_key = ui.session.new_key, None  # shown once, on the page after it was made
    return ui.page("settings.html", "Settings", title="Settings", keys=keys, manage=manage, new_key=new_key,
                   settings=shown_settings(ui.rt.settings) if manage else None, health=health(ui.request))


@router.post("/ui/settings/keys")
def create_key(ui: UiDep, agent: Annotated[str, Form(max_length=200)], admin: Annotated[bool, Form()] = False) -> Response:
    was_open = not ui.auth_on
    made = ui.rt.identities.create_key(ui.caller, agent.strip(), admin)
    ui.auth_on = ui.rt.auth.enabled()
    if was_open:
        # The first key turns auth on: this browser is signed out from the next page on, so the key
        # is shown here and now, with the way to sign in.
        return ui.page("key_created.html", "Settings", title="API key created", new_key=made)
    ui.session.new_key = made
    return see_other("/ui/settings")


@router.post("/ui/settings/keys/{key_id}/revoke")
def revoke_key(ui: UiDep, key_id: Annotated[str, Path(max_length=40)]) -> Response:
    revoked = ui.rt.identities.revoke_key(ui.caller, key_id)
    ui.flash(f"Revoked key {revoked['id']} ({revoked['agent']}).")
    return see_other("/ui/settings")
