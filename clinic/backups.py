"""Backups of the database and the private media, and restoring them.

A backup is one folder: `database.dump` (pg_dump's custom format) or
`database.sqlite3` (SQLite's online backup API, consistent while the app runs),
`media.tar.gz` (photos, signatures) and `manifest.json`. Restoring replaces the
configured database's contents and the media folder with the backup's.
"""

import json
import shutil
import sqlite3
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections


def _database(alias: str = "default") -> dict[str, Any]:
    return connections[alias].settings_dict


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def _tool(name: str) -> str:
    """The PostgreSQL client program's full path (Debian: package postgresql-client)."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: apt-get install postgresql-client")
    return path


def _pg_args(db: dict[str, Any]) -> list[str]:
    args = ["--host", db.get("HOST") or "127.0.0.1", "--port", str(db.get("PORT") or 5432)]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    return args


def create_backup(target_dir: Path, *, alias: str = "default") -> Path:
    """Write a backup into a new timestamped folder under `target_dir`; return its path."""
    db = _database(alias)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(target_dir) / f"threadline-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    if connections[alias].vendor == "postgresql":
        subprocess.run(  # noqa: S603 (fixed arguments, no shell)
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--file",
                str(folder / "database.dump"),
                *_pg_args(db),
                db["NAME"],
            ],
            env=_pg_env(db),
            check=True,
            capture_output=True,
        )
        database_file = "database.dump"
    else:
        connections[alias].ensure_connection()
        with sqlite3.connect(folder / "database.sqlite3") as copy:
            connections[alias].connection.backup(copy)
        database_file = "database.sqlite3"
    media_root = Path(settings.PRIVATE_MEDIA_ROOT)
    with tarfile.open(folder / "media.tar.gz", "w:gz") as archive:
        if media_root.exists():
            archive.add(media_root, arcname="media")
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "created_at": stamp,
                "vendor": connections[alias].vendor,
                "database": database_file,
                "media": "media.tar.gz",
            },
            indent=2,
        )
    )
    return folder


def restore_backup(folder: Path, *, alias: str = "default") -> None:
    """Replace the database's contents and the media folder with the backup in `folder`."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    vendor = connections[alias].vendor
    if manifest["vendor"] != vendor:
        raise ValueError(f"This backup is from {manifest['vendor']}, the database is {vendor}.")
    db = _database(alias)
    connections[alias].close()
    if vendor == "postgresql":
        subprocess.run(  # noqa: S603 (fixed arguments, no shell)
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--dbname",
                db["NAME"],
                *_pg_args(db),
                str(folder / manifest["database"]),
            ],
            env=_pg_env(db),
            check=True,
            capture_output=True,
        )
    else:
        with (
            sqlite3.connect(folder / manifest["database"]) as source,
            sqlite3.connect(db["NAME"]) as target,
        ):
            source.backup(target)
    media_root = Path(settings.PRIVATE_MEDIA_ROOT)
    if media_root.exists():
        shutil.rmtree(media_root)
    media_root.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / manifest["media"], "r:gz") as archive:
        archive.extractall(media_root.parent, filter="data")
    extracted = media_root.parent / "media"
    if extracted != media_root and extracted.exists():
        extracted.rename(media_root)
