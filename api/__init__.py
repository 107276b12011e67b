"""Front doors: the FastAPI app under /v1 and the `memos` command line."""
