"""Every figure the server exports to Prometheus (`GET /metrics`), defined in one place.

Each kind of figure is gathered where it is cheapest:
- per request: the front door's outer middleware (api/request_observer.py) calls `request`, and
  `error` for an error answer: plain numbers updated in place, no lock and no I/O, turned into
  Prometheus' counters and histograms at scrape time;
- per batch: the pipeline driver hands every finished batch to `completed` (this object is one
  of its listeners) with the timings its stages noted in the batch itself
  (actors/stage_timing.py), so no stage actor is ever asked for figures;
- per search: `searched`, with the step timings the search measured anyway (`timings_ms`);
- at scrape time: the intake backlog, jobs, hot vectors and prefetch counts, read by a collector
  from `Figures` the runtime builds on demand.

The registry is this object's own, not prometheus_client's global one: importing this module
registers nothing, and every runtime (a test builds several) has its own figures.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from actors.pipeline_driver import Completion

HTTP_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STAGE_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
SEARCH_SECONDS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
RATE_WINDOW = 32  # batches a stage's rows-per-second figure is taken over
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class PrefetchCounts:
    hits: int  # searches answered from the memories the prefetcher held ready (service/prefetch.py)
    misses: int  # searches that took the full path
    warmed: int  # cubes the prefetcher warmed
    pools: int = 0  # cubes whose memories are held ready now


@dataclass(frozen=True)
class Figures:
    """What the runtime reports at scrape time."""

    pending: int
    pending_jobs: int
    in_flight_batches: int
    batches_done: int
    hot_vector_bytes: int
    hot_cubes: int
    warming: int
    uptime_s: float
    prefetch: PrefetchCounts | None  # None: prefetching is off


class ServerMetrics:
    def __init__(self, figures: Callable[[], Figures | None]) -> None:
        """`figures` is asked at every scrape; None while the runtime does not serve."""
        # No `_created` series beside every counter and histogram: they doubled a scrape's size and
        # time, and Prometheus does not need them. (A process-wide switch of prometheus_client; the
        # server's process has no other registry.)
        disable_created_metrics()
        self.registry = r = CollectorRegistry()
        self._requests = _RequestFigures()
        r.register(self._requests)
        self._errors = Counter("memos_http_errors", "Error answers, by their stable error code.", ("code",), registry=r)
        self._stage_rows = Histogram("memos_stage_batch_rows", "Rows in each batch a pipeline stage processed.",
                                     ("stage",), buckets=BATCH_ROWS, registry=r)
        self._stage_seconds = Histogram("memos_stage_batch_seconds", "Time a pipeline stage spent on one batch.",
                                        ("stage",), buckets=STAGE_SECONDS, registry=r)
        self._stage_rows_total = Counter("memos_stage_rows", "Rows each pipeline stage processed.", ("stage",),
                                         registry=r)
        self._stage_busy = Counter("memos_stage_busy_seconds", "Time each pipeline stage spent processing.", ("stage",),
                                   registry=r)
        self._stage_rate = Gauge("memos_stage_rows_per_second",
                                 f"Rows per second of a stage's processing time, over its last {RATE_WINDOW} batches.",
                                 ("stage",), registry=r)
        self._embedded = Counter("memos_embed_texts", "Texts the pipeline's embed stages encoded.", registry=r)
        self._embed_rate = Gauge("memos_embed_texts_per_second",
                                 f"Texts encoded per second of embedding time, over the last {RATE_WINDOW} embed "
                                 "batches.", registry=r)
        self._search_steps = Histogram("memos_search_step_seconds",
                                       "Time per search step: speakers, embed, vector, bm25 (beside them), bm25_wait, fuse, "
                                       "fetch.",
                                       ("step",), buckets=SEARCH_SECONDS, registry=r)
        self._searches = Histogram("memos_search_seconds", "Whole searches, measured in the service (took_ms).",
                                   buckets=SEARCH_SECONDS, registry=r)
        r.register(_ScrapeTime(figures))
        self._windows: dict[str, deque[tuple[int, float]]] = defaultdict(lambda: deque(maxlen=RATE_WINDOW))
        self._embed_window: deque[tuple[int, float]] = deque(maxlen=RATE_WINDOW)

    # --- per request (the event loop) ------------------------------------------------------------

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.observe((method if method in METHODS else "other", route, status), seconds)

    def error(self, code: str) -> None:
        self._errors.labels(code).inc()

    # --- per batch (the driver's collector thread) -----------------------------------------------

    def completed(self, completion: Completion) -> None:
        for t in completion.stages:
            self._stage_rows.labels(t.stage).observe(t.rows)
            self._stage_seconds.labels(t.stage).observe(t.seconds)
            self._stage_rows_total.labels(t.stage).inc(t.rows)
            self._stage_busy.labels(t.stage).inc(t.seconds)
            self._stage_rate.labels(t.stage).set(_rate(self._windows[t.stage], t.rows, t.seconds))
            if t.embedded:
                self._embedded.inc(t.embedded)
                self._embed_rate.set(_rate(self._embed_window, t.embedded, t.seconds))

    # --- per search (the route's worker thread) --------------------------------------------------

    def searched(self, timings_ms: Mapping[str, float], took_ms: float) -> None:
        for step, ms in timings_ms.items():
            self._search_steps.labels(step).observe(ms / 1000)
        self._searches.observe(took_ms / 1000)

    def render(self) -> bytes:
        """The text exposition format, as `GET /metrics` answers it."""
        return generate_latest(self.registry)


def _rate(window: deque[tuple[int, float]], items: int, seconds: float) -> float:
    window.append((items, seconds))
    busy = sum(s for _, s in window)
    return sum(n for n, _ in window) / busy if busy > 0 else 0.0


class _RequestFigures(Collector):
    """Requests by (method, route template, status): their latency sum and bucket counts.

    Updated on the event loop for every request, with no lock: prometheus_client's children take
    one per counter and histogram update, three per request, most of what the metrics added to the
    accept path. A scrape copies each key's list (a concurrent request may be counted in the next
    scrape's sum a moment before its bucket: never lost), and the count is the buckets' total.
    """

    def __init__(self) -> None:
        self._stats: dict[tuple[str, str, int], list[float]] = {}  # key -> [sum, bucket counts..., +Inf]

    def observe(self, key: tuple[str, str, int], seconds: float) -> None:
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = [0.0] * (len(HTTP_SECONDS) + 2)
        stats[0] += seconds
        stats[1 + bisect_left(HTTP_SECONDS, seconds)] += 1  # the first bucket whose bound is >= seconds

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        labels = ["method", "route", "status"]
        count = CounterMetricFamily("memos_http_requests", "HTTP requests answered, by method, route template and "
                                    "status.", labels=labels)
        latency = HistogramMetricFamily("memos_http_request_duration_seconds", "Time from a request's arrival to its "
                                        "last byte, by method, route template and status.", labels=labels)
        for (method, route, status), stats in list(self._stats.items()):
            total, *buckets = list(stats)
            values = [method, route, str(status)]
            cumulative = list(accumulate(buckets))
            count.add_metric(values, cumulative[-1])
            latency.add_metric(values, [(floatToGoString(b), c) for b, c in zip(HTTP_SECONDS, cumulative)]
                               + [("+Inf", cumulative[-1])], total)
        yield count
        yield latency


class _ScrapeTime(Collector):
    """Figures that are cheapest to read when asked: one SQLite count, a few attributes."""

    def __init__(self, figures: Callable[[], Figures | None]) -> None:
        self._figures = figures

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration; the runtime may not have started yet

    def collect(self) -> Iterator[Metric]:
        f = self._figures()
        yield GaugeMetricFamily("memos_ready", "1 while the server serves requests, 0 while it starts or stops.",
                                value=0 if f is None else 1)
        if f is None:
            return
        yield GaugeMetricFamily("memos_intake_pending", "Accepted writes not yet stored (the intake backlog).",
                                value=f.pending)
        yield GaugeMetricFamily("memos_jobs_pending", "Jobs with accepted writes not yet stored.", value=f.pending_jobs)
        yield GaugeMetricFamily("memos_pipeline_in_flight_batches", "Batches in the stage chain now.",
                                value=f.in_flight_batches)
        yield CounterMetricFamily("memos_pipeline_batches", "Batches the pipeline finished since start.",
                                  value=f.batches_done)
        yield GaugeMetricFamily("memos_hot_vectors_bytes", "Memory held by hot (in-memory) cube vectors.",
                                value=f.hot_vector_bytes)
        yield GaugeMetricFamily("memos_hot_cubes", "Cubes whose vectors are in memory.", value=f.hot_cubes)
        yield GaugeMetricFamily("memos_hot_cubes_warming", "Cubes whose vectors are being loaded or partitioned.",
                                value=f.warming)
        yield GaugeMetricFamily("memos_uptime_seconds", "Seconds since the server started.", value=f.uptime_s)
        if f.prefetch is not None:
            yield CounterMetricFamily("memos_prefetch_hits", "Searches answered from the memories the prefetcher "
                                      "held ready for them.", value=f.prefetch.hits)
            yield CounterMetricFamily("memos_prefetch_misses", "Searches that found no memories held ready for them "
                                      "and took the full path.", value=f.prefetch.misses)
            yield GaugeMetricFamily("memos_prefetch_pools", "Cubes whose memories the prefetcher holds ready.",
                                    value=f.prefetch.pools)
            yield CounterMetricFamily("memos_prefetch_warmed", "Cubes the prefetcher warmed ahead of a search.",
                                      value=f.prefetch.warmed)
