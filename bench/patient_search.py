"""Patient search as the front desk uses it, over 100,000 patients.

Aim (issue: patients): median under 25 ms and p95 under 50 ms per search on a
2-core machine with PostgreSQL; a constant number of queries per search.
"""

import random
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.timing import Result, summarise, time_calls
from clinic.models import Location, Role, StaffMember
from consultations.models import Patient, fold_text

PATIENTS = 100_000
BATCH = 5_000
FIRST = [
    "Zoë",
    "Amara",
    "Ingrid",
    "Mei",
    "Lucía",
    "Hannah",
    "José",
    "Björn",
    "Tom",
    "Kwame",
    "Siobhán",
    "Priya",
    "Olga",
    "Grace",
    "Naomi",
    "Yuki",
    "Rafael",
    "Arjun",
    "Luca",
    "Fatima",
]
# Surnames built from parts give about 2,000 distinct names, as varied as a
# real city's patient list (a dozen names would make every search match 8%).
SURNAME_STARTS = [
    "Ang",
    "Berg",
    "Card",
    "Dal",
    "Eck",
    "Fern",
    "Gar",
    "Hol",
    "Iv",
    "Jan",
    "Kow",
    "Lind",
    "Mar",
    "Nak",
    "Ok",
    "Pat",
    "Ross",
    "Sil",
    "Tan",
    "Vol",
    "Wal",
    "Zed",
    "Mül",
    "Ó Br",
]
SURNAME_ENDS = [
    "ström",
    "son",
    "ez",
    "ini",
    "ski",
    "afor",
    "mann",
    "ley",
    "ova",
    "amura",
    "ier",
    "berg",
    "ton",
    "ard",
    "elli",
    "ović",
    "sen",
    "ford",
    "ida",
    "ach",
    "ing",
    "off",
    "ero",
    "hurst",
    "by",
    "ey",
    "ak",
    "ani",
    "ell",
    "ott",
    "wood",
    "cott",
    "ham",
    "ue",
    "oux",
    "oz",
    "ás",
    "ich",
    "man",
    "well",
    "er",
    "o",
    "a",
    "is",
    "us",
    "ie",
    "an",
    "yn",
    "et",
    "in",
    "ow",
    "ock",
    "ay",
    "esh",
    "ur",
    "ik",
    "en",
    "ul",
    "ar",
    "um",
    "ix",
    "ud",
    "ag",
    "ith",
    "orn",
    "ald",
    "ost",
    "imo",
    "ela",
    "ino",
    "ota",
    "ane",
    "ura",
    "eni",
    "oli",
    "ari",
    "eto",
    "ugh",
    "and",
    "ent",
    "ist",
    "ach",
]


def seed_patients(total: int = PATIENTS) -> None:
    """Top the table up to `total` patients (bulk insert: derived fields set here)."""
    missing = total - Patient.objects.count()
    if missing <= 0:
        return
    rng = random.Random(7)
    start = Patient.objects.count()
    for offset in range(0, missing, BATCH):
        rows = []
        for n in range(start + offset, start + min(offset + BATCH, missing)):
            first = rng.choice(FIRST)
            last = rng.choice(SURNAME_STARTS) + rng.choice(SURNAME_ENDS)
            phone = f"+44791{n:07d}"
            rows.append(
                Patient(
                    record_number=f"BN{n:07d}",
                    first_name=first,
                    last_name=last,
                    date_of_birth=date(1950, 1, 1) + timedelta(days=n % 18000),
                    sex="female",
                    phone=phone,
                    email=f"bench{n}@mail.example",
                    search_name=fold_text(f"{first} {last}"),
                    phone_digits=phone[1:],
                )
            )
        Patient.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE consultations_patient")


def bench_client() -> Client:
    user, _ = get_user_model().objects.get_or_create(username="bench-desk")
    location = Location.objects.first() or Location.objects.create(
        name="Bench clinic", address="-", phone="-", emergency_phone="-"
    )
    staff, created = StaffMember.objects.get_or_create(
        user=user, defaults={"role": Role.FRONT_DESK}
    )
    if created:
        staff.locations.set([location])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def run(runs: int) -> list[Result]:
    seed_patients()
    client = bench_client()
    sample = Patient.objects.filter(record_number__startswith="BN").order_by("pk")[PATIENTS // 2]
    searches = {
        "partial name": "ström",
        "full name": f"{sample.first_name} {sample.last_name}",
        "phone": f"0{str(sample.phone)[3:6]} {str(sample.phone)[6:]}",
        "record number": sample.record_number,
    }
    results = []
    for label, query in searches.items():
        url = f"/patients/search/?q={query}"
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, response.status_code
        # Counted now: every later request clears the connection's query log.
        query_count = len(queries.captured_queries)
        samples = time_calls(lambda url=url: client.get(url), runs=runs)
        results.append(
            summarise(
                f"patient search: {label}",
                samples,
                floor="view",
                queries=query_count,
                target="median < 25 ms, p95 < 50 ms",
            )
        )
    return results
