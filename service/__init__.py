"""Application services: what each route and CLI command does, over storage and the pipeline."""
