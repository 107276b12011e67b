"""The web management UI at /ui, the offline API docs pages, and what keeps them safe in a browser."""
