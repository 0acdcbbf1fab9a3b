"""Write the load-test report from Locust's CSV and a double-booking check of the database.

`python -m bench.loadtest.report CSV_PREFIX REPORT.md`
"""

import csv
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
django.setup()

from django.db import connection  # noqa: E402

PAGE_TARGET_MS, PDF_TARGET_MS = 300, 1500

# Each active booking against the one before it for the same practitioner: a clash
# shows as a start before the previous booking's blocked span ends.
OVERLAPS = """
SELECT count(*) FROM (
  SELECT starts_at,
         lag(blocked_until) OVER (PARTITION BY practitioner_id ORDER BY starts_at) AS previous_end
  FROM consultations_appointment
  WHERE status NOT IN ('cancelled', 'no_show')
) bookings WHERE starts_at < previous_end
"""


def main(prefix: str, out: str) -> None:
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))  # noqa: SIM115
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPS)
        overlaps = cursor.fetchone()[0]
    lines = [
        "# Load test report",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"database {connection.vendor}. {os.environ.get('LOADTEST_SHAPE', '')}",
        "",
        "| endpoint | requests | failures | req/s | p50 ms | p95 ms | p99 ms | target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    failures = 0
    for row in rows:
        name = row["Name"]
        if name == "Aggregated":
            continue
        target = PDF_TARGET_MS if "PDF" in name else PAGE_TARGET_MS
        p95 = float(row["95%"])
        failures += int(row["Failure Count"])
        lines.append(
            f"| {name} | {row['Request Count']} | {row['Failure Count']} | "
            f"{float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} | {row['99%']} | "
            f"p95 < {target} ms | {'yes' if p95 < target else 'NO'} |"
        )
    total = next(row for row in rows if row["Name"] == "Aggregated")
    lines += [
        "",
        f"Total: {total['Request Count']} requests, {float(total['Requests/s']):.1f} per second, "
        f"{failures} errors. Overlapping active bookings for one practitioner afterwards: "
        f"{overlaps}.",
        "",
    ]
    Path(out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
