"""Fast checks of the grader's pieces: the rebuilt notebook, the late plugin, the sandbox
command line."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from autograder.grader import merge_with_source, without_hidden_tests
from autograder.late import SECONDS_PER_DAY, PercentPerDay
from autograder.notebooks import HIDDEN_MARKERS, nbgrader_meta
from autograder.sandbox import Limits, wrapper_command


def cell(source: str, grade_id: str | None = None, **meta) -> nbformat.NotebookNode:
    c = nbformat.v4.new_code_cell(source)
    if grade_id:
        c.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, **meta}
        c["id"] = grade_id
    return c


def notebooks():
    answer = dict(solution=True, locked=False, grade=False)
    test = dict(solution=False, locked=True, grade=True, points=2)
    source = nbformat.v4.new_notebook(cells=[
        cell("import math"), cell("def f():\n    return 1", "f", **answer),
        cell(f"assert f() == 1\n{HIDDEN_MARKERS[0]}\nassert f() + 1 == 2\n{HIDDEN_MARKERS[1]}",
             "f_tests", **test)])
    source.cells[0]["id"] = "setup"
    release = copy.deepcopy(source)
    release.cells[1].source = "def f():\n    raise NotImplementedError()"
    release.cells[2].source = "assert f() == 1"
    return source, release


def sources(nb) -> list[str]:
    return [c.source for c in nb.cells]


def test_is_an_edited_test_cell_restored_and_the_answer_kept():
    source, release = notebooks()
    student = copy.deepcopy(release)
    student.cells[1].source = "def f():\n    return 1"
    student.cells[2].source = "pass"
    merged, notes = merge_with_source(student, source, release)
    assert sources(merged) == sources(source)
    assert any("edited" in n for n in notes)


def test_are_deleted_duplicated_and_renamed_cells_repaired():
    source, release = notebooks()
    student = copy.deepcopy(release)
    fake = copy.deepcopy(student.cells[1])
    fake.source = "def f():\n    return 1"
    nbgrader_meta(fake)["grade_id"] = "other"
    extra = cell("f = lambda: 1")
    student.cells = [student.cells[0], student.cells[1], student.cells[1], fake, extra]
    merged, notes = merge_with_source(student, source, release)
    assert sources(merged)[:3] == [source.cells[0].source, release.cells[1].source,
                                   "def f():\n    return 1"]
    assert sources(merged)[-1] == source.cells[2].source, "the deleted test comes back"
    assert all("nbgrader" not in c.metadata for c in merged.cells[2:4])
    assert len([n for n in notes if "duplicate" in n]) == 1


def test_does_the_returned_copy_drop_hidden_tests():
    source, _ = notebooks()
    shown = without_hidden_tests(source)
    assert "f() + 1" not in shown.cells[2].source
    assert "hidden tests ran here" in shown.cells[2].source


@pytest.mark.parametrize("days, share", [(0, None), (0.5, 0.05), (2, 0.10), (7, 0.35),
                                         (8, 1.0)])
def test_does_the_late_plugin_take_5_percent_per_started_day(days, share):
    penalty = PercentPerDay().late_submission_penalty("s", 80.0, days * SECONDS_PER_DAY)
    assert penalty == (None if share is None else pytest.approx(share * 80.0))


def test_does_the_kernel_start_without_network_and_with_limits():
    cmd = wrapper_command(Limits(memory_mb=1000, hide=("/secret",)), Path("/scratch"), 200_001)
    assert cmd[:2] == ["unshare", "--net"] and "--pid" in cmd and "--kill-child" in cmd
    assert cmd[cmd.index("--memory-mb") + 1] == "1000" and "/secret" in cmd
    with_net = wrapper_command(Limits(network=True), Path("/s"), 1)
    assert "--net" not in with_net
