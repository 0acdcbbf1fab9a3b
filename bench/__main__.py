"""Run every benchmark and print one table; the JSON goes to bench/results/."""

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
# Measure what production runs: DEBUG off (no query log, cached templates).
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
if "CONSENT_SIGNING_KEY" not in os.environ and "CONSENT_SIGNING_KEY_FILE" not in os.environ:
    # A throwaway key: consents the benchmarks sign are sealed like production's.
    from clinic.signing_keys import new_private_key_pem

    os.environ["CONSENT_SIGNING_KEY"] = new_private_key_pem()
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from bench import booking, documents, patient_search, planner  # noqa: E402
from bench.clinic_data import ensure_large_clinic  # noqa: E402
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


BENCHMARKS = [patient_search, booking, planner, documents]


def main() -> None:
    # DEBUG is off, as in production: pages need the hashed static-file manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    ensure_large_clinic()
    results = floors()
    floor_median = {r.floor: r.median_ms for r in results}
    for benchmark in BENCHMARKS:
        results += benchmark.run(RUNS)
    for result in results:
        result.ratio = result.median_ms / floor_median[result.floor]
    print(f"database: {connection.vendor}")
    header = f"{'benchmark':<40} {'median ms':>10} {'p95 ms':>9} {'× floor':>8} {'queries':>8}"
    print(header + "  target")
    for r in results:
        queries = "" if r.queries is None else r.queries
        print(
            f"{r.name:<40} {r.median_ms:>10.2f} {r.p95_ms:>9.2f} {r.ratio:>8.2f} {queries:>8}"
            f"  {r.target}"
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    print(f"\nwritten to {out / 'latest.json'}")


if __name__ == "__main__":
    main()
