"""Importing submissions as courses get them: plain files, Moodle and Canvas downloads,
students' own zips, a roster. Every file gets a line; nothing is lost silently."""

from __future__ import annotations

import io
import json
import zipfile

import nbformat
import pytest

from autograder.course import Course

SLUG = "a02-conv-arithmetic"


def submission(text: str = "print(1)", version: int = 4) -> bytes:
    """A notebook that looks like a02 (it has the locked parameters cell)."""
    params = nbformat.v4.new_code_cell('PROFILE = "book"', id="parameters")
    params.metadata["nbgrader"] = {"grade_id": "parameters", "locked": True, "grade": False,
                                   "solution": False, "schema_version": 3}
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(text, id="work")])
    if version == 3:
        return json.dumps(nbformat.convert(nb, 3)).encode()
    return nbformat.writes(nb).encode()


def make_zip(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    make_zip(buffer, files)
    return buffer.getvalue()


@pytest.fixture
def course(tmp_path) -> Course:
    return Course(tmp_path / "course")


def test_does_a_folder_import_report_every_file(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.ipynb").write_bytes(submission())
    (subs / "bob.ipynb").write_text("{ not json")
    (subs / "notes.txt").write_text("hello")
    (subs / "bad name!.ipynb").write_bytes(submission())
    report = course.import_submissions(SLUG, subs)
    assert report.imported == ["alice"]
    rejected = dict(report.rejected)
    assert "not a readable notebook" in rejected["bob.ipynb"]
    assert "not a notebook" in rejected["notes.txt"]
    assert "student id" in rejected["bad name!.ipynb"]
    stored = nbformat.reads(course.submission_path(SLUG, "alice").read_text(), as_version=4)
    assert stored.cells[1].source == "print(1)"


def test_does_a_zip_import_work_and_skip_mac_metadata(course, tmp_path):
    archive = make_zip(tmp_path / "subs.zip", {
        "submissions/carol.ipynb": submission(),
        "__MACOSX/submissions/._carol.ipynb": b"junk",
    })
    report = course.import_submissions(SLUG, archive)
    assert report.imported == ["carol"] and not report.rejected


def test_does_a_reimport_keep_the_previous_copy(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "dan.ipynb").write_bytes(submission("print(1)"))
    course.import_submissions(SLUG, subs)
    first = course.submission_path(SLUG, "dan").read_bytes()
    assert course.import_submissions(SLUG, subs).unchanged == ["dan"]
    (subs / "dan.ipynb").write_bytes(submission("print(2)"))
    assert course.import_submissions(SLUG, subs).replaced == ["dan"]
    previous = list(course.submission_path(SLUG, "dan").parent.glob(".previous/*"))
    assert len(previous) == 1 and previous[0].read_bytes() == first


def test_is_a_missing_path_a_clear_error(course, tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a folder nor a zip"):
        course.import_submissions(SLUG, tmp_path / "nowhere")


def test_does_a_moodle_download_map_through_the_roster(course, tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", {
        "Ada Lovelace_12345_assignsubmission_file_/a02-conv-arithmetic.ipynb": submission(),
        "Alan Turing_23456_assignsubmission_file_/my work.ipynb": submission(),
        "Grace Hopper_34567_assignsubmission_file_/report.pdf": b"%PDF",
    })
    assert course.import_submissions(SLUG, archive).imported == ["12345", "23456"]
    roster = tmp_path / "roster.csv"
    roster.write_text("Identifier,Full name,student_id\nParticipant 12345,Ada Lovelace,s001\n"
                      ",Alan Turing,s002\n")
    report = course.import_submissions(SLUG, archive, roster)
    assert report.imported == ["s001", "s002"]
    assert any("report.pdf" in name and "not a notebook" in why for name, why in report.rejected)


def test_is_a_student_missing_from_the_roster_reported(course, tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", {
        "Ada Lovelace_12345_assignsubmission_file_/a.ipynb": submission()})
    roster = tmp_path / "roster.csv"
    roster.write_text("participant,student_id\n99999,s009\n")
    report = course.import_submissions(SLUG, archive, roster)
    assert not report.imported and "not in the roster" in report.rejected[0][1]


def test_are_canvas_names_understood(course, tmp_path):
    subs = tmp_path / "canvas"
    subs.mkdir()
    (subs / "lovelaceada_12345_67890_a02-conv-arithmetic.ipynb").write_bytes(submission())
    (subs / "turingalan_late_23456_67891_notebook-1.ipynb").write_bytes(submission())
    assert course.import_submissions(SLUG, subs).imported == ["12345", "23456"]


def test_is_a_students_own_zip_opened(course, tmp_path):
    archive = make_zip(tmp_path / "all.zip", {
        "erin.zip": zip_bytes({"work/a02-conv-arithmetic.ipynb": submission()}),
        "frank.zip": zip_bytes({"readme.txt": b"forgot the notebook"}),
    })
    report = course.import_submissions(SLUG, archive)
    assert report.imported == ["erin"]
    assert ("frank.zip", "a zip file with no notebook in it") in report.rejected


def test_are_several_notebooks_for_one_student_resolved_or_reported(course, tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", {
        "Ada Lovelace_1_assignsubmission_file_/a02-conv-arithmetic.ipynb": submission(),
        "Ada Lovelace_1_assignsubmission_file_/scratch.ipynb": submission(),
        "Alan Turing_2_assignsubmission_file_/try1.ipynb": submission(),
        "Alan Turing_2_assignsubmission_file_/try2.ipynb": submission(),
    })
    report = course.import_submissions(SLUG, archive)
    assert report.imported == ["1"]
    assert any("took the one named" in text for _, text in report.notes)
    turing = [why for name, why in report.rejected if "Alan Turing" in name]
    assert len(turing) == 2 and all("several notebooks" in why for why in turing)


def test_are_old_notebooks_converted_and_other_assignments_refused(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "gina.ipynb").write_bytes(submission(version=3))
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", id="x")])
    (subs / "hal.ipynb").write_text(nbformat.writes(other))
    report = course.import_submissions(SLUG, subs)
    assert report.imported == ["gina"]
    assert ("gina", "converted from nbformat 3 to 4") in report.notes
    assert "does not look like a02-conv-arithmetic" in dict(report.rejected)["hal.ipynb"]
    assert nbformat.reads(course.submission_path(SLUG, "gina").read_text(), 4).nbformat == 4
