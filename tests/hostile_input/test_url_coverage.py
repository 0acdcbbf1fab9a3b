"""The hostile-input table covers every URL the project serves."""

from __future__ import annotations

from django.urls import get_resolver

from tests.hostile_input.endpoints import (
    ENDPOINTS,
    NOT_COVERED_PREFIXES,
    NOT_COVERED_URLS,
    READ_ONLY_URLS,
)

# -- the table covers every URL ----------------------------------------------------------------


def url_names() -> set[str]:
    names = set()

    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
                walk(pattern, namespace)
            elif pattern.name:
                names.add(prefix + pattern.name)

    walk(get_resolver())
    return names


def covered_names() -> set[str]:
    table = {endpoint.name.split(" ")[0] for endpoint in ENDPOINTS}
    return table | READ_ONLY_URLS | NOT_COVERED_URLS


def test_every_url_is_in_the_table():
    """A view added without a row here fails the suite: add its row to ENDPOINTS, or its name
    to READ_ONLY_URLS if it takes no input, or to NOT_COVERED_URLS if the form is Django's."""
    missing = sorted(
        name for name in url_names() - covered_names() if not name.startswith(NOT_COVERED_PREFIXES)
    )
    assert not missing, f"not in the hostile-input table: {', '.join(missing)}"


def test_every_name_in_the_table_is_a_url():
    """A view removed or renamed leaves no stale row behind."""
    assert not sorted(covered_names() - url_names())
