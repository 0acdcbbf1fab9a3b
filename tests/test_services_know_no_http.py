"""Services, selectors, documents and tasks never see the HTTP request.

Views turn the request into an `Actor` (clinic.actors) and plain arguments;
everything below them can then be called alike from a view, a command, the demo
data or a test. Who acts is said one way only: services take `actor=`, never a
user of their own (`booked_by=`, `changed_by=`, ...).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What answers HTTP, and may therefore know it.
HTTP_SIDE = {"views", "admin.py", "urls.py", "migrations"}
# The clinic package mixes both sides: these are its services and documents.
CLINIC_DOMAIN = [
    "audit.py",
    "pdf.py",
    "site/export.py",
    "site/privacy.py",
    "site/record_summary.py",
    "site/demo.py",
    "site/large_clinic.py",
]


def domain_modules() -> list[Path]:
    return [
        path
        for app in ("consultations", "treatments")
        for path in sorted((ROOT / app).rglob("*.py"))
        if path.relative_to(ROOT / app).parts[0] not in HTTP_SIDE
    ] + [ROOT / "clinic" / name for name in CLINIC_DOMAIN]


def service_modules() -> list[Path]:
    """The services: `services.py` modules and `services` packages, and the clinic's own."""
    in_apps = [path for path in domain_modules() if "services" in path.with_suffix("").parts[-2:]]
    return in_apps + [ROOT / "clinic" / "site" / name for name in ("privacy.py", "export.py")]


def parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {arg.arg for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs}


def imported_modules(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", domain_modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_service_takes_the_request_or_imports_django_http(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not [name for name in imported_modules(tree) if name.startswith("django.http")]
    takes_request = [
        f"{node.name} (line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and "request" in {arg.arg for arg in node.args.args + node.args.kwonlyargs}
    ]
    assert takes_request == []


@pytest.mark.parametrize("path", service_modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_services_are_told_who_acts_by_the_actor_alone_never_by_a_user_argument(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    takes_a_user = [
        f"{node.name}({name}) (line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for name in sorted(parameters(node))
        if name.endswith("_by")
    ]
    assert takes_a_user == []
