"""Pure logic of MemOS: record rules, the write-pipeline stages over Arrow batches, ranking."""
