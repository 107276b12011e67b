"""The `memos` command line: one module per command group, all calling the HTTP API."""
