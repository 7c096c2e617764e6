"""Uploaded import files on disk (UPLOAD_DIR/imports), kept from the upload until the import has
run: the background job reads them again for the dry run and the import. With RQ workers on
other machines, UPLOAD_DIR must be a shared volume."""

import secrets
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from crm.imports.models import Import
from crm.imports.reader import Layout


def _folder() -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save(upload: FileStorage, workspace_id: int, file_format: str) -> tuple[str, Path]:
    """Stores the upload under a random name; returns the name and its path."""
    name = f"{workspace_id}-{secrets.token_hex(16)}.{file_format}"
    path = path_for(name)
    upload.save(path)
    return name, path


def path_of(job: Import) -> Path:
    return path_for(job.stored_name)


def path_for(stored_name: str) -> Path:
    return _folder() / stored_name


def layout_of(job: Import) -> Layout:
    return Layout(job.file_format, list(job.headers), job.encoding, job.delimiter, job.sheet)


def remove(job: Import) -> None:
    path_of(job).unlink(missing_ok=True)
