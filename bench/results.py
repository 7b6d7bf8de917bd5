"""What a measurement yields (shared by measuring and compliance, read by report)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class BenchmarkError(RuntimeError):
    """A measured call failed: the numbers would be meaningless."""


@dataclass
class Result:
    """One measurement: latencies (ms) of `calls` calls, or a rate / duration."""

    name: str
    group: str
    calls: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    rows_per_call: float | None = None
    rate: float | None = None
    rate_unit: str = ""
    seconds: float | None = None
    budget: str = ""
    ok: bool | None = None
    note: str = ""
    plan: str = ""  # EXPLAIN (ANALYZE, BUFFERS) of a measured query, in the JSON only

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, int(round(fraction * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]
