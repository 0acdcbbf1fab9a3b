"""Run every benchmark and print one table; the JSON goes to bench/results/."""

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.test import Client  # noqa: E402

from bench.timing import Result, summarise, time_calls  # noqa: E402
from clinic.pdf import html_to_pdf  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "50"))
PLAIN_PAGE = "<html><body><h1>Plain page</h1><p>One paragraph of text.</p></body></html>"


def floors() -> list[Result]:
    client = Client(HTTP_HOST="localhost")
    view = time_calls(lambda: client.get("/healthz"), runs=RUNS * 4)
    pdf = time_calls(lambda: html_to_pdf(PLAIN_PAGE), runs=max(RUNS // 2, 10))
    return [
        summarise("floor: one-query view (/healthz)", view, floor="view"),
        summarise("floor: plain one-page PDF", pdf, floor="pdf"),
    ]


def main() -> None:
    results = floors()
    floor_median = {r.floor: r.median_ms for r in results}
    # Later benchmarks append their results here, each naming its floor.
    for result in results:
        result.ratio = result.median_ms / floor_median[result.floor]
    print(f"{'benchmark':<48} {'median ms':>10} {'p95 ms':>10} {'× floor':>8}  target")
    for r in results:
        print(f"{r.name:<48} {r.median_ms:>10.2f} {r.p95_ms:>10.2f} {r.ratio:>8.2f}  {r.target}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    print(f"\nwritten to {out / 'latest.json'}")


if __name__ == "__main__":
    main()
