"""What both MCP servers (the /mcp mount and the `memos mcp` bridge) tell a client about themselves.

Kept apart from the mount so the stdio bridge imports neither the runtime nor Ray.
"""

from __future__ import annotations

from typing import Any

from mcp.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions

INSTRUCTIONS = (
    "MemOS is your persistent memory. Search it before you answer (search_memory), store what you learn "
    "(add_memory), open an episode for each task and close it with its outcome; procedures learned from "
    "successful episodes appear as tools of their own."
)


class MemosMcpServer(Server[Any]):
    """Handshake-era clients are told the tool list can change (2026-era ones learn it from listen)."""

    def create_initialization_options(self, notification_options: NotificationOptions | None = None,
                                      experimental_capabilities: dict[str, dict[str, Any]] | None = None,
                                      extensions: dict[str, dict[str, Any]] | None = None) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True), experimental_capabilities, extensions)
