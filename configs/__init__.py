"""Typed settings for the server, the CLI and the pipeline; defaults live in defaults.toml."""

from configs.settings import Settings

__all__ = ["Settings"]
