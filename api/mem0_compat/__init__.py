"""mem0-compatible endpoints under /mem0: mem0's self-hosted server routes and the platform API its client speaks."""
