"""A shard's BM25 index (tantivy): one writer, held by the shard's write actor; readers elsewhere.

Documents carry the cube id and filter fields; the body is indexed, not stored (SQLite has it).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tantivy

from pipeline.errors import StoreError
from pipeline.filters import SearchFilter
from pipeline.records import IndexRow
from storage.disk_space import full_disk, nearly_full

# Words as the en_stem tokenizer splits them at index time (any non-alphanumeric ends a word).
_WORD = re.compile(r"\w+", re.UNICODE)
_OPERATORS = {"AND", "OR", "NOT", "TO", "IN"}
TEXT_TOKENIZER = "en_stem"


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("key", tokenizer_name="raw")  # cube + id: ids are unique per cube only
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("cube", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("kind", tokenizer_name="raw")
    sb.add_text_field("tier", tokenizer_name="raw")
    sb.add_text_field("tags", tokenizer_name="raw")
    sb.add_integer_field("created_at", indexed=True, fast=True)
    sb.add_text_field("content", stored=False, tokenizer_name=TEXT_TOKENIZER)
    # the memory with its neighbouring turns (pipeline.context); same as content where it has none
    sb.add_text_field("context", stored=False, tokenizer_name=TEXT_TOKENIZER)
    return sb.build()


def query_terms(text: str) -> str:
    """User text as plain words: no field syntax, no operators, no wildcards; lowercase."""
    return " ".join(w.lower() for w in _WORD.findall(text) if w.upper() not in _OPERATORS)


def doc_key(cube: str, memory_id: str) -> str:
    return f"{cube}\x1f{memory_id}"


def _document(row: IndexRow) -> tantivy.Document:
    return tantivy.Document(
        key=doc_key(row.cube, row.id),
        id=row.id,
        cube=row.cube,
        kind=row.kind,
        tier=row.tier,
        tags=list(row.tags),
        created_at=int(row.created_at),
        content=row.index_text,
        context=row.context or row.index_text,
    )


def _open(path: Path, create: bool) -> tantivy.Index:
    schema = build_schema()
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
            return tantivy.Index(schema, path=str(path), reuse=True)
        return tantivy.Index.open(str(path))
    except ValueError as exc:
        raise StoreError(f"lexical index {path}: {exc}") from exc


def _schema_matches(path: Path) -> bool:
    """False when an index made with an older schema lies at `path` (it is derived: rebuild it)."""
    if not (path / "meta.json").exists():
        return True
    try:
        tantivy.Index(build_schema(), path=str(path), reuse=True)
    except ValueError:
        return False
    return True


class LexicalWriter:
    """Owns the shard's IndexWriter (tantivy allows one per index, across processes).

    A kill leaves `.tantivy-writer.lock` and `.tantivy-meta.lock` behind, and that is safe: the
    lock is not the file but an OS file lock (flock) held on it while the writer lives, which the
    kernel releases when the process dies, however it dies; the files are never deleted, not even
    on a clean close. So a restart opens its writer over them at once, while a second live writer
    is still refused (tests/storage/test_lexical_locks.py). Deleting them at open would be the
    unsafe choice: a writer still alive elsewhere would keep its lock on the deleted file while a
    new one locked a new file, and two writers would share the index.
    """

    def __init__(self, path: Path, heap_bytes: int = 64_000_000) -> None:
        self.path = path
        self.recreated = not _schema_matches(path)
        if self.recreated:
            shutil.rmtree(path)
        self._index = _open(path, create=True)
        try:
            self._writer = self._index.writer(heap_size=heap_bytes, num_threads=1)
        except ValueError as exc:  # LockBusy: another live writer holds the index
            raise StoreError(f"lexical index {path}: {exc}") from exc

    def apply(self, upserts: Sequence[IndexRow], deletes: Iterable[tuple[str, str]]) -> None:
        """Delete then (re)add by id, committed once: readers see the whole batch or none of it."""
        try:
            for cube, memory_id in deletes:
                self._writer.delete_documents_by_term("key", doc_key(cube, memory_id))
            for row in upserts:
                self._writer.delete_documents_by_term("key", doc_key(row.cube, row.id))
                self._writer.add_document(_document(row))
            self._writer.commit()
        except ValueError as exc:
            # An I/O error (a full disk) kills tantivy's writer; a rollback makes it usable again,
            # and the batch is retried from the cube files (replays are idempotent).
            self._writer.rollback()
            if nearly_full(self.path):
                raise full_disk("BM25 index") from exc
            raise StoreError(f"lexical index {self.path}: {exc}") from exc

    def drop_cube(self, cube: str) -> None:
        self._writer.delete_documents_by_term("cube", cube)
        self._writer.commit()

    def collect_garbage(self) -> None:
        """Delete the segment files no commit uses any more (after a rebuild: every old segment, with
        the terms of deleted documents in it). A reader in another process keeps what it has open."""
        self._writer.garbage_collect_files()

    def rebuild(self, rows: Iterable[IndexRow]) -> int:
        """Replace every document at one commit (readers switch atomically)."""
        self._writer.delete_all_documents()
        n = 0
        for row in rows:
            self._writer.add_document(_document(row))
            n += 1
        self._writer.commit()
        return n

    def close(self) -> None:
        self._writer.wait_merging_threads()


class LexicalReader:
    def __init__(self, path: Path) -> None:
        self._index = _open(path, create=False)
        self._schema = self._index.schema

    def reload(self) -> None:
        self._index.reload()

    def num_docs(self) -> int:
        return self._index.searcher().num_docs

    def search(
        self, text: str, cubes: Sequence[str], limit: int, filt: SearchFilter | None = None,
        content_boost: float | None = None,
    ) -> list[tuple[str, str, float]]:
        """(cube, id, bm25) of the best matches among the given cubes.

        With `content_boost`, a memory scores by its neighbouring-turn context as well: BM25 over the
        `context` field plus `content_boost` times BM25 over its own text. Without, its own text only.
        """
        words = query_terms(text)
        if not words or not cubes or limit <= 0:
            return []
        if content_boost is None:
            query, _ = self._index.parse_query_lenient(words, ["content"])
        else:
            query, _ = self._index.parse_query_lenient(
                words, ["content", "context"], field_boosts={"content": content_boost, "context": 1.0}
            )
        searcher = self._index.searcher()
        wanted = set(cubes)
        # A term-set filter over every document costs more than the query itself on a large shard
        # (25 against 10 ms at 1M); when the cubes asked for hold the whole index it is left out,
        # and any hit from another cube sends the query again with the filter.
        whole = sum(searcher.doc_freq("cube", c) for c in wanted) >= searcher.num_docs
        hits = self._hits(searcher, query, None if whole else cubes, filt, limit)
        if whole and any(cube not in wanted for cube, _, _ in hits):
            hits = self._hits(searcher, query, cubes, filt, limit)
        return hits

    def _hits(
        self, searcher: Any, query: tantivy.Query, cubes: Sequence[str] | None, filt: SearchFilter | None, limit: int
    ) -> list[tuple[str, str, float]]:
        must = [(tantivy.Occur.Must, query)]
        if cubes is not None:
            must.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self._schema, "cube", list(cubes))))
        must += self._filter_clauses(filt)
        out = []
        # count=False: the number of all matches is never read, and counting them keeps tantivy from
        # skipping blocks that cannot reach the top (benchmarks/bm25_options.py: the same hits).
        for score, address in searcher.search(tantivy.Query.boolean_query(must), limit, count=False).hits:
            doc = searcher.doc(address)
            out.append((doc["cube"][0], doc["id"][0], float(score)))
        return out

    def _filter_clauses(self, filt: SearchFilter | None) -> list[tuple[Any, tantivy.Query]]:
        if filt is None or filt.empty:
            return []
        clauses = []
        for field, values in (("kind", filt.kinds), ("tier", filt.tiers), ("tags", filt.tags)):
            if values:
                clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self._schema, field, sorted(values))))
        if filt.since is not None or filt.until is not None:
            clauses.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(
                        self._schema, "created_at", tantivy.FieldType.Integer,
                        lower_bound=filt.since, upper_bound=filt.until,
                        include_lower=True, include_upper=filt.until is None,
                    ),
                )
            )
        return clauses
