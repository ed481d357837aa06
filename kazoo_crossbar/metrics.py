"""Prometheus metrics (prometheus-client); /metrics and /health are served by ops.py.

One registry per app, so several apps in one process (tests) do not collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "crossbar_requests",
            "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "crossbar_request_seconds",
            "HTTP request latency by endpoint",
            ["endpoint", "method"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.jobs = Counter(
            "crossbar_jobs", "Jobs by outcome (started, complete, lost, failed)", ["status"], registry=r
        )
        self.numbers = Counter("crossbar_job_numbers", "Numbers processed by jobs, by result", ["result"], registry=r)
        self.recovery_passes = Counter("crossbar_recovery_passes", "Recovery loop passes", registry=r)
        self.recovered_jobs = Counter("crossbar_recovered_jobs", "Jobs claimed by the recovery loop", registry=r)
        self.couchdb_errors = Counter(
            "crossbar_couchdb_errors", "CouchDB failures seen by requests", ["error"], registry=r
        )
        self.doc_cache = Counter("crossbar_doc_cache", "Cached GET reads by result (hit, miss)", ["result"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
