"""What "changes nothing" means: the tables a request wrote to hold what they held before.

`snapshot` is the row count of every watched table (auto-created many-to-many
tables included) and a digest of every row, except the tables whose rows
legitimately change on any request: the audit trail, sessions, django-axes, the
public pages' request counts and simple_history's historical tables.

Hashing every table after each of thousands of cases made this suite the
slowest in the project, so a case is judged on the tables its request wrote to:
`WriteWatcher` records every statement the request sends to the database, and
`snapshot(tables=...)` reads those tables alone. A table no statement wrote to
cannot have changed (no trigger in the schema writes to another table); a
statement the watcher cannot read falls back to reading every table.
"""

from __future__ import annotations

import functools
import hashlib
import re

from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection

from clinic.models import AuditEvent, RequestCount

EXCLUDED_APPS = {"axes", "sessions"}


@functools.cache
def watched_models() -> list:
    """Every model whose rows a refused request must leave alone."""
    watched = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label in EXCLUDED_APPS or model in (AuditEvent, RequestCount, Session):
            continue
        # simple_history's tables (and their many-to-many tables) grow with every change.
        if meta.db_table.split("_", 1)[-1].startswith("historical"):
            continue
        if not meta.managed and not meta.auto_created:
            continue
        watched.append(model)
    return watched


# Columns any visit writes, as it writes the audit trail: when a patient link was opened
# (consultations.patient_links.open_link records every open, refused requests' too).
VISIT_COLUMNS = {"consultations_patientlink": {"first_opened_at", "last_opened_at"}}

# Filled by migrations and never written by a request: counted, not read row by row.
COUNTED_ONLY = {"auth_permission", "django_content_type", "auth_group_permissions"}


def snapshot(*, tables: set[str] | None = None) -> dict[str, tuple[int, str]]:
    """Per table: (row count, digest of every row in primary-key order).

    Every watched table, or those of them named in `tables`.
    """
    state = {}
    models = [
        model for model in watched_models() if tables is None or model._meta.db_table in tables
    ]
    if not models:
        return state
    quote = connection.ops.quote_name
    # Table names come from the models, quoted: never from a request.
    selects = [f"(SELECT COUNT(*) FROM {quote(model._meta.db_table)})" for model in models]  # noqa: S608
    counts_sql = "SELECT " + ", ".join(selects)
    with connection.cursor() as cursor:
        cursor.execute(counts_sql)
        counts = cursor.fetchone()
    for model, count in zip(models, counts, strict=True):
        table = model._meta.db_table
        digest = ""
        if count and table not in COUNTED_ONLY:
            skipped = VISIT_COLUMNS.get(table, set())
            columns = [
                field.attname
                for field in model._meta.concrete_fields
                if field.attname not in skipped
            ]
            rows = list(model._base_manager.order_by("pk").values_list(*columns))
            digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
        state[table] = (count, digest)
    return state


def describe_changes(before: dict, after: dict) -> str:
    """The tables in `after` that differ from `before` (`before` may hold more tables)."""
    changed = []
    for table, (count, digest) in after.items():
        old_count, old_digest = before.get(table, (0, ""))
        if count != old_count:
            changed.append(f"{table}: {old_count} -> {count} rows")
        elif digest != old_digest:
            changed.append(f"{table}: rows changed")
    return "; ".join(changed)


# The table a writing statement names, as Django's compilers spell them on SQLite and
# PostgreSQL (INSERT INTO "t", UPDATE "t", DELETE FROM "t"); quoted or not.
WRITE = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?',
    re.IGNORECASE,
)
# Statements that write no table row.
NOT_A_WRITE = re.compile(
    r"^\s*(?:SELECT|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|PRAGMA|SET|SHOW|EXPLAIN)\b",
    re.IGNORECASE,
)


class WriteWatcher:
    """Records which tables the statements sent while it is installed write to.

    Installed with `connection.execute_wrapper`, so it sees every statement on the
    connection, however many; `tables` is None once a statement could have written
    somewhere it cannot name (then every table must be read).
    """

    def __init__(self):
        self.tables: set[str] | None = set()

    def __call__(self, execute, sql, params, many, context):
        self.note(sql)
        return execute(sql, params, many, context)

    def note(self, sql) -> None:
        if self.tables is None:
            return
        sql = str(sql)
        if written := WRITE.match(sql):
            self.tables.add(written.group(1))
        elif not NOT_A_WRITE.match(sql):
            self.tables = None


def vendor() -> str:
    return connection.vendor
