"""Request counters and a latency histogram, shown at ``/stats`` (JSON) and ``/metrics``.

``/metrics`` uses the Prometheus text exposition format (version 0.0.4).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Mapping

#: Upper bounds (seconds) of the latency histogram buckets.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Thread-safe request counters and a latency histogram."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._buckets = [0] * (len(BUCKETS) + 1)
        self._latency_sum = 0.0
        self.in_flight = 0
        self.started = time.time()

    def count(self, *names: str) -> None:
        with self._lock:
            for name in names:
                self._counts[name] += 1

    def begin(self) -> None:
        with self._lock:
            self.in_flight += 1

    def end(self) -> None:
        """End something counted in flight by ``begin`` that ``observe`` does not record."""
        with self._lock:
            self.in_flight -= 1

    def observe(self, status: int, form: str, seconds: float) -> None:
        """Record one finished request."""
        with self._lock:
            self.in_flight -= 1
            self._requests[(str(status), form)] += 1
            self._buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
            self._latency_sum += seconds

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def prometheus(
        self,
        gauges: Mapping[str, tuple[float, str]],
        counters: Mapping[str, tuple[float, str]] | None = None,
    ) -> str:
        """Return the metrics in the Prometheus text format, with extra ``gauges``/``counters``."""
        with self._lock:
            counts = dict(self._counts)
            requests = dict(self._requests)
            buckets = list(self._buckets)
            total = sum(buckets)
            latency_sum = self._latency_sum
        lines = [
            "# HELP aigraph_requests_total HTTP requests by status and SPARQL query form.",
            "# TYPE aigraph_requests_total counter",
        ]
        for (status, form), value in sorted(requests.items()):
            lines.append(f'aigraph_requests_total{{status="{status}",form="{form}"}} {value}')
        lines += [
            "# HELP aigraph_request_duration_seconds Time to answer a request.",
            "# TYPE aigraph_request_duration_seconds histogram",
        ]
        running = 0
        for bound, value in zip((*BUCKETS, float("inf")), buckets, strict=True):
            running += value
            label = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f'aigraph_request_duration_seconds_bucket{{le="{label}"}} {running}')
        lines.append(f"aigraph_request_duration_seconds_sum {latency_sum:.6f}")
        lines.append(f"aigraph_request_duration_seconds_count {total}")
        for name, help_text in _COUNTERS.items():
            lines += [
                f"# HELP aigraph_{name}_total {help_text}",
                f"# TYPE aigraph_{name}_total counter",
                f"aigraph_{name}_total {counts.get(name, 0)}",
            ]
        for name, (amount, help_text) in (counters or {}).items():
            lines += [
                f"# HELP aigraph_{name}_total {help_text}",
                f"# TYPE aigraph_{name}_total counter",
                f"aigraph_{name}_total {amount:g}",
            ]
        for name, (gauge, help_text) in gauges.items():
            lines += [
                f"# HELP aigraph_{name} {help_text}",
                f"# TYPE aigraph_{name} gauge",
                f"aigraph_{name} {gauge:g}",
            ]
        return "\n".join(lines) + "\n"


_COUNTERS = {
    "queries": "SPARQL queries answered (endpoint and named queries).",
    "timeouts": "Queries stopped at the time limit.",
    "truncated": "Results cut at the row limit.",
    "rejected_updates": "SPARQL Update requests refused (read-only).",
    "shed": "Queries turned away for load: 429 (client's share) or 503 (queue full).",
    "errors": "Requests answered with an error status.",
    "reloads": "Successful data reloads (SIGHUP).",
}
