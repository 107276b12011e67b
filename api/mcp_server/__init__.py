"""MemOS as an MCP server: the tools (tools.py, skill_tools.py), the /mcp mount (http_mount.py) and the
stdio bridge behind `memos mcp` (stdio_bridge.py)."""
