"""Finding hubs on a LAN: a hub announces `_memos._tcp` over mDNS/DNS-SD (python-zeroconf), and
`memos hub discover` browses for a few seconds. Discovery only lists; it never joins anything.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from typing import Any
from urllib.parse import urlparse

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

SERVICE = "_memos._tcp.local."
log = logging.getLogger(__name__)


def _interfaces(spec: str) -> list[str] | None:
    """The addresses to use; None: every interface (zeroconf's default)."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    return names or None


def _zeroconf(interfaces: str) -> Zeroconf:
    chosen = _interfaces(interfaces)
    if chosen is None:
        return Zeroconf(ip_version=IPVersion.V4Only)
    return Zeroconf(interfaces=chosen, ip_version=IPVersion.V4Only)


def instance_name(name: str) -> str:
    """A DNS-SD instance label: printable, at most 63 bytes."""
    label = re.sub(r"[^A-Za-z0-9 _.-]", "-", name)[:60] or "memos-hub"
    return label


class Announcer:
    """The hub's mDNS record, registered while the server runs."""

    def __init__(self, name: str, url: str, teams: list[str], interfaces: str) -> None:
        self._name, self._url, self._teams, self._interfaces = instance_name(name), url, teams, interfaces
        self._zc: Zeroconf | None = None
        self._info: ServiceInfo | None = None

    def start(self) -> None:
        parsed = urlparse(self._url)
        host = parsed.hostname or "127.0.0.1"
        try:
            address = socket.inet_aton(socket.gethostbyname(host))
        except OSError:
            address = socket.inet_aton("127.0.0.1")
        if host in ("0.0.0.0", ""):
            address = socket.inet_aton(_primary_address())
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._info = ServiceInfo(SERVICE, f"{self._name}.{SERVICE}", addresses=[address], port=port,
                                 properties={"url": self._url, "teams": ",".join(self._teams)[:200], "v": "1"},
                                 server=f"{self._name.replace(' ', '-').replace('.', '-')}.local.")
        self._zc = _zeroconf(self._interfaces)
        self._zc.register_service(self._info, allow_name_change=True)
        log.info("announcing hub %r at %s over mDNS (%s)", self._name, self._url, SERVICE)

    def stop(self) -> None:
        if self._zc is not None:
            if self._info is not None:
                self._zc.unregister_service(self._info)
            self._zc.close()
            self._zc = None


def _primary_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def discover(seconds: float, interfaces: str = "") -> dict[str, Any]:
    """The hubs that answered within `seconds`, by name and URL."""
    zc = _zeroconf(interfaces)
    names: list[str] = []

    def changed(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Added and name not in names:
            names.append(name)

    try:
        ServiceBrowser(zc, SERVICE, handlers=[changed])
        time.sleep(seconds)
        hubs = []
        for name in list(names):
            info = zc.get_service_info(SERVICE, name, timeout=1500)
            if info is None:
                continue
            props = {k.decode(): (v or b"").decode(errors="replace") for k, v in info.properties.items()}
            addresses = info.parsed_addresses()
            url = props.get("url") or (f"http://{addresses[0]}:{info.port}" if addresses else "")
            hubs.append({"name": name[: -len(SERVICE) - 1] if name.endswith("." + SERVICE) else name, "url": url,
                         "teams": [t for t in props.get("teams", "").split(",") if t],
                         "addresses": addresses, "port": info.port})
        return {"hubs": sorted(hubs, key=lambda h: (h["name"], h["url"]))}
    finally:
        zc.close()
