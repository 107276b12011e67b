"""Team sharing, pure parts: signed skill bundles, credentials, run statistics, replication cursors."""
