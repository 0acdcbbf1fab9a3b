"""Stop early, with one clear line, when a Debian package the app needs is missing.

Run by `make run` and `make test` before anything else: `python -m clinic.system_packages`.
"""

import sys


def missing_packages() -> list[str]:
    """One line per missing system library, naming the Debian package to install."""
    problems = []
    try:
        import weasyprint  # noqa: F401  (loads Pango through cffi at import)
    except OSError as error:
        problems.append(
            "WeasyPrint cannot load Pango: apt-get install libpango-1.0-0 libpangoft2-1.0-0"
            f" ({error})"
        )
        return problems
    from weasyprint.text import ffi

    if ffi.harfbuzz_subset is None:
        # Without it WeasyPrint subsets fonts in pure Python: every printed
        # document takes several times longer to write.
        problems.append(
            "WeasyPrint cannot load HarfBuzz's font subsetter: apt-get install libharfbuzz-subset0"
        )
    return problems


if __name__ == "__main__":
    problems = missing_packages()
    for problem in problems:
        print(f"Missing system package: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)
