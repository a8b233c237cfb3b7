"""Find each student's notebook in an upload, however the course received it.

An upload is a folder or a zip file. Inside it, notebooks may be named
``<student_id>.ipynb``, sit in Moodle's "download all submissions" folders
(``Full Name_12345_assignsubmission_file_/…``), carry Canvas names
(``name_12345_67890_file.ipynb``, ``name_LATE_…``), or hide in a zip that the student
made. Every file ends up in the report: imported, or rejected with the reason.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_\w*$")
CANVAS_FILE = re.compile(r"^(?P<name>[a-z0-9-]+?)(?:_late)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
STUDENT_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
IGNORED = ("__MACOSX/", ".DS_Store", ".ipynb_checkpoints/")


@dataclass
class Upload:
    """One file found in an upload: where it was, whose it is, what it holds."""

    origin: str  # its path inside the upload, for the report
    key: str  # the student it belongs to, before the roster maps it
    name: str  # Full name for Moodle, login for Canvas, else the key
    data: bytes


@dataclass
class Found:
    """The notebook chosen for one student, and what the import had to say about it."""

    student: str
    origin: str
    notebook: bytes
    notes: list[str] = field(default_factory=list)


def walk(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every file of a folder or zip (recursively), as (path inside, bytes)."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            yield file.relative_to(path).as_posix(), file.read_bytes()
    elif zipfile.is_zipfile(path):
        yield from _walk_zip(path.read_bytes(), "")
    else:
        raise FileNotFoundError(
            f"{path} is neither a folder nor a zip file of submissions."
        )


def _walk_zip(data: bytes, prefix: str) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.is_dir():
                yield prefix + info.filename, archive.read(info)


def owner(origin: str, slug: str) -> tuple[str, str]:
    """(key, name) of the student a file belongs to, from its path in the upload."""
    parts = PurePosixPath(origin).parts
    for part in parts[:-1]:
        moodle = MOODLE_FOLDER.match(part)
        if moodle:
            return moodle["id"], moodle["name"]
    stem = PurePosixPath(parts[-1]).stem
    canvas = CANVAS_FILE.match(stem.lower())
    if canvas:
        return canvas["id"], canvas["name"]
    if stem.lower() in {slug.lower(), "submission", "notebook"} and len(parts) > 1:
        return parts[-2], parts[-2]  # a student's folder holding the assignment's file
    return stem, stem


def uploads(path: Path, slug: str) -> tuple[list[Upload], list[tuple[str, str]]]:
    """Files that may be notebooks, by student; and the files set aside, with the reason."""
    found, rejected = [], []
    for origin, data in walk(path):
        if any(part in origin for part in IGNORED) or PurePosixPath(origin).name.startswith("."):
            continue
        if origin.lower().endswith(".zip") and zipfile.is_zipfile(io.BytesIO(data)):
            key, name = owner(origin, slug)
            inner = [(f"{origin}!/{o}", d) for o, d in _walk_zip(data, "")]
            for inner_origin, inner_data in inner:
                if inner_origin.endswith(".ipynb") and "__MACOSX" not in inner_origin:
                    found.append(Upload(inner_origin, key, name, inner_data))
            if not any(o.endswith(".ipynb") for o, _ in inner):
                rejected.append((origin, "a zip file with no notebook in it"))
            continue
        if not origin.endswith(".ipynb"):
            rejected.append((origin, "not a notebook (.ipynb); ignored"))
            continue
        key, name = owner(origin, slug)
        found.append(Upload(origin, key, name, data))
    return found, rejected


def read_roster(path: Path) -> dict[str, str]:
    """Map Moodle participant numbers, Canvas ids, full names or e-mails to student ids.

    The CSV needs a ``student_id`` column (Moodle's ``ID number`` works too) and any of
    ``key``, ``participant``, ``identifier`` (Moodle's "Participant 12345"), ``canvas_id``,
    ``name``, ``full name``, ``email``.
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    mapping = {}
    for row in rows:
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        student = row.get("student_id") or row.get("id number")
        if not student:
            raise ValueError(f"{path}: every row needs a student_id (or 'ID number') column")
        for column in ("key", "participant", "identifier", "canvas_id", "name", "full name",
                       "email", "email address"):
            value = row.get(column)
            if value:
                digits = re.sub(r"^participant\s*", "", value, flags=re.IGNORECASE)
                mapping[digits.lower()] = student
                mapping[value.lower()] = student
    return mapping


def choose(uploads_: list[Upload], slug: str, roster: dict[str, str] | None,
           expected_ids: set[str]) -> tuple[list[Found], list[tuple[str, str]]]:
    """One notebook per student, checked; a reason for everything left out."""
    by_student: dict[str, list[Upload]] = defaultdict(list)
    rejected = []
    for upload in uploads_:
        student = upload.key
        if roster is not None:
            student = roster.get(upload.key.lower()) or roster.get(upload.name.lower()) or ""
            if not student:
                rejected.append((upload.origin, f"{upload.key!r} ({upload.name}) is not in "
                                 "the roster CSV; add them, then import again"))
                continue
        if not STUDENT_ID.match(student):
            rejected.append((upload.origin, f"{student!r} is not a usable student id (letters, "
                             "digits, '-', '_', '.'): rename the file <student_id>.ipynb"))
            continue
        by_student[student].append(upload)
    found = []
    for student, files in sorted(by_student.items()):
        picked, note = _pick_one(files, slug)
        if picked is None:
            rejected += [(f.origin, note) for f in files]
            continue
        notebook, problem, notes = check_notebook(picked.data, expected_ids, slug)
        if problem:
            rejected.append((picked.origin, problem))
            continue
        found.append(Found(student, picked.origin, notebook, ([note] if note else []) + notes))
    return found, rejected


def _pick_one(files: list[Upload], slug: str) -> tuple[Upload | None, str]:
    if len(files) == 1:
        return files[0], ""
    named = [f for f in files if PurePosixPath(f.origin).stem.lower().endswith(slug.lower())]
    others = ", ".join(PurePosixPath(f.origin).name for f in files)
    if len(named) == 1:
        return named[0], f"several notebooks ({others}): took the one named {slug}.ipynb"
    return None, f"several notebooks for one student ({others}) and none named {slug}.ipynb: " \
                 "ask which one to grade, then import that one alone"


def check_notebook(data: bytes, expected_ids: set[str],
                   slug: str) -> tuple[bytes, str | None, list[str]]:
    """(notebook bytes as nbformat 4, problem or None, notes)."""
    notes = []
    try:
        text = data.decode("utf-8-sig")
        version = nbformat.reader.reads(text).get("nbformat")
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except UnicodeDecodeError:
        return data, "not a readable notebook (not UTF-8 text)", notes
    except nbformat.reader.NotJSONError:
        return data, "not a readable notebook (not JSON)", notes
    except nbformat.ValidationError as err:
        return data, f"not a valid notebook: {err.message}", notes
    except Exception as err:  # nbformat raises several kinds on odd JSON
        return data, f"not a readable notebook ({type(err).__name__}: {err})", notes
    if version != 4:
        notes.append(f"converted from nbformat {version} to 4")
    ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    if expected_ids and not expected_ids & ids:
        return data, f"does not look like {slug}: none of its graded cells is there", notes
    return nbformat.writes(nb).encode(), None, notes
