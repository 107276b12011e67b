"""Adapters to the storage engines (apsw SQLite, LanceDB, tantivy); their types stay inside."""
