"""One cube's canonical records in its own SQLite file: schema, reader, writer."""
