"""Static files as production serves them: collected under hashed names, imports included."""

import json
import re

from django.core.management import call_command

# What a JavaScript module imports: `import … from "./x.js";` and `export … from "./x.js";`.
IMPORT = re.compile(r"""\b(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']\s*;""", re.S)
PLANNER = "js/planner/main.js"


def collect(settings, tmp_path) -> tuple[dict[str, str], dict[str, str]]:
    """Collect our scripts with the production storage: the manifest and each script's text.

    Only static/js: compressing the fonts and vendored files takes most of a minute.
    """
    settings.STATIC_ROOT = tmp_path
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "clinic.staticfiles.HashedStaticFilesStorage"},
    }
    call_command(
        "collectstatic",
        interactive=False,
        verbosity=0,
        ignore_patterns=["css", "fonts", "img", "vendor"],
    )
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    texts = {name: (tmp_path / name).read_text() for name in manifest.values()}
    assert all(name.startswith("js/") for name in manifest)
    return manifest, texts


def imports(text: str) -> list[str]:
    return IMPORT.findall(text)


def test_the_planner_modules_import_one_another_by_their_hashed_names(settings, tmp_path):
    manifest, texts = collect(settings, tmp_path)
    hashed_names = set(manifest.values())

    # Follow the imports from the page's one script, as the browser does.
    reached, waiting = set(), [manifest[PLANNER]]
    while waiting:
        name = waiting.pop()
        reached.add(name)
        folder = name.rsplit("/", 1)[0]
        for target in imports(texts[name]):
            path = "/".join(_resolve(folder, target))
            assert path in hashed_names, f"{name} imports {target}, not a hashed file"
            if path not in reached:
                waiting.append(path)

    modules = {name for name in manifest if name.startswith("js/planner/")}
    assert {manifest[name] for name in modules} | {manifest["js/planner-model.js"]} == reached


def _resolve(folder: str, target: str) -> list[str]:
    parts = folder.split("/")
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return parts
