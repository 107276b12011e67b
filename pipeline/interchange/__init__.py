"""The memos-interchange format: its object model, containers, Markdown vault, and import planning (pure)."""
