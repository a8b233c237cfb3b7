"""Importing submissions: folders, zips, bad files, re-imports. Nothing is lost silently."""

from __future__ import annotations

import zipfile

import nbformat
import pytest

from autograder.course import Course


def notebook_bytes(text: str = "print(1)") -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text, id="only-cell")])
    return nbformat.writes(nb).encode()


@pytest.fixture
def course(tmp_path) -> Course:
    return Course(tmp_path / "course")


def test_does_a_folder_import_report_every_file(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.ipynb").write_bytes(notebook_bytes())
    (subs / "bob.ipynb").write_text("{ not json")
    (subs / "notes.txt").write_text("hello")
    (subs / "bad name!.ipynb").write_bytes(notebook_bytes())
    report = course.import_submissions("a02-conv-arithmetic", subs)
    assert report.imported == ["alice"]
    rejected = dict(report.rejected)
    assert "not a readable notebook" in rejected["bob.ipynb"]
    assert rejected["notes.txt"] == "not a .ipynb file"
    assert "student id" in rejected["bad name!.ipynb"]
    assert course.submission_path("a02-conv-arithmetic", "alice").read_bytes() == notebook_bytes()


def test_does_a_zip_import_work_and_skip_mac_metadata(course, tmp_path):
    archive = tmp_path / "subs.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("submissions/carol.ipynb", notebook_bytes())
        z.writestr("__MACOSX/submissions/._carol.ipynb", b"junk")
    report = course.import_submissions("a02-conv-arithmetic", archive)
    assert report.imported == ["carol"] and not report.rejected


def test_does_a_reimport_keep_the_previous_copy(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "dan.ipynb").write_bytes(notebook_bytes("print(1)"))
    course.import_submissions("a02-conv-arithmetic", subs)
    assert course.import_submissions("a02-conv-arithmetic", subs).unchanged == ["dan"]
    (subs / "dan.ipynb").write_bytes(notebook_bytes("print(2)"))
    report = course.import_submissions("a02-conv-arithmetic", subs)
    assert report.replaced == ["dan"]
    previous = list(course.submission_path("a02-conv-arithmetic", "dan").parent.glob(".previous/*"))
    assert len(previous) == 1 and previous[0].read_bytes() == notebook_bytes("print(1)")


def test_is_a_missing_path_a_clear_error(course, tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a folder nor a zip"):
        course.import_submissions("a02-conv-arithmetic", tmp_path / "nowhere")
