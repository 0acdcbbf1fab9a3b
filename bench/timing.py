import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    median_ms: float
    p95_ms: float
    runs: int
    floor: str
    ratio: float | None = None
    queries: int | None = None
    target: str = ""


def time_calls(call: Callable[[], object], *, runs: int, warmup: int = 3) -> list[float]:
    """Wall-clock milliseconds of `runs` calls, after a few unmeasured warm-up calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summarise(name: str, samples: list[float], *, floor: str, **extra) -> Result:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Result(name, statistics.median(samples), p95, len(samples), floor, **extra)
