"""Adversarial submissions (tests/tamper_corpus.py) graded in one parallel batch.

Every attack must score no more than an honest attempt (the stub's 0 on the attacked
question, or the solution's marks when the attack is only a disruption), must not stop
the grading of its other cells, and must not affect the other students of the batch.
"""

from __future__ import annotations

import functools
import json
import socket
from pathlib import Path

import nbformat
import pytest
from course_fixtures import autograded_ids
from tamper_corpus import CORPUS, SLUG, patched_allclose, probe

from autograder.course import Course
from autograder.grader import grade_submission
from autograder.notebooks import read_source, write_notebook
from autograder.parallel import autograde, hidden_paths, load_assignment
from autograder.paths import REPO
from autograder.sandbox import Limits

pytestmark = pytest.mark.slow

AUTOGRADED = frozenset(autograded_ids(SLUG))
LIMITS = Limits(cell_timeout=20, notebook_timeout=300, memory_mb=6144)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The corpus, a probe and the honest notebooks, graded together with 2 workers."""
    root = tmp_path_factory.mktemp("tamper")
    course = Course(root / "course")
    release_path = course.release(SLUG)
    stub = nbformat.read(release_path, as_version=4)
    solution = read_source(SLUG)
    listener = socket.create_server(("127.0.0.1", 0))
    secrets = {
        "read": [str(course.root / "gradebook.db"),
                 str(Path(__file__).resolve().parents[1] / "assignments" / SLUG / f"{SLUG}.md"),
                 str(course.root / "source" / SLUG / f"{SLUG}.ipynb")],
        # /tmp inside the sandbox is a private, throw-away tmpfs: a write there may succeed
        # but must not reach the host; the repository must refuse the write.
        "write": [str(root / "written-by-student.txt"), "/tmp/written-by-student.txt",
                  str(REPO / "written-by-student.txt")],
        "port": listener.getsockname()[1],
    }
    uploads = root / "uploads"
    for name, make in CORPUS.items():
        write_notebook(make(stub, solution), uploads / f"{name}.ipynb")
    write_notebook(probe(stub, secrets), uploads / "probe.ipynb")
    report = course.import_submissions(SLUG, uploads)
    assert not report.rejected, report.lines()
    results = autograde(course, SLUG, workers=2, limits=LIMITS, progress=False)
    listener.close()
    return {"course": course, "root": root, "secrets": secrets,
            "results": {r.student: r for r in results}, "stub": stub, "solution": solution}


def cells(batch, student: str) -> dict[str, tuple[float, float, str]]:
    result = batch["results"][student]
    assert not result.error, result.report()
    return {c.grade_id: (c.points or 0.0, c.max_points, c.status) for c in result.cells}


def autograded_total(batch, student: str) -> float:
    scores = cells(batch, student)
    return sum(scores[g][0] for g in AUTOGRADED)


@functools.cache
def full_marks() -> float:
    nb = read_source(SLUG)
    return sum(c.metadata.nbgrader["points"] for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") in AUTOGRADED)


def test_does_the_honest_solution_get_full_marks_in_the_batch(batch):
    assert autograded_total(batch, "honest-solution") == full_marks() > 0


@pytest.mark.parametrize("student", ["edited-test", "deleted-test", "duplicated-and-reordered",
                                     "changed-metadata", "redefined-builtins",
                                     "patched-allclose", "replaced-reference", "fork-bomb",
                                     "huge-output", "copied-stub", "probe"])
def test_does_an_attack_on_the_stub_score_zero(batch, student):
    scores = cells(batch, student)
    assert AUTOGRADED <= set(scores), "a test cell went missing"
    earned = {g: s for g, s in scores.items() if g in AUTOGRADED and s[0] > 0}
    assert not earned, f"{student} earned points: {earned}"


def test_does_changed_metadata_leave_points_and_grade_ids_as_the_source_has_them(batch):
    scores = cells(batch, "changed-metadata")
    source = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader.get("points", 0)
              for c in read_source(SLUG).cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert {g: s[1] for g, s in scores.items()} == source
    assert "mine" not in scores


def test_is_the_library_guard_what_stops_the_patched_allclose(batch, tmp_path):
    """Without the guard (stock behaviour), patching torch.allclose earns the q8 points."""
    course = batch["course"]
    assignment = load_assignment(course, SLUG)
    notebook = nbformat.writes(patched_allclose(batch["stub"], batch["solution"]))
    unguarded = Limits(**{**LIMITS.__dict__, "guard_libraries": False,
                          "hide": hidden_paths(course)})
    result = grade_submission("unguarded", notebook, assignment, unguarded)
    stock = {c.grade_id: c.points for c in result.cells}
    assert stock["q8_rank1_conv_tests"] == 2, result.report()
    assert cells(batch, "patched-allclose")["q8_rank1_conv_tests"][0] == 0


def test_does_grading_go_on_after_exit_interrupt_endless_loop_and_kernel_death(batch):
    """Each disruption is in a cell of its own: every test still runs and passes."""
    result = batch["results"]["disruptions"]
    assert autograded_total(batch, "disruptions") == full_marks(), result.report()
    nb = nbformat.reads(result.notebook, as_version=4)
    errors = {o.get("ename") for c in nb.cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"}
    assert {"SystemExit", "KeyboardInterrupt", "Timeout", "KernelDied"} <= errors


@pytest.mark.parametrize("student, says", [
    ("disruptions", "the kernel died in cell"), ("disruptions", "ran longer than 20 s"),
    ("infinite-loop-in-answer", "q2_same_padding_tests ran longer than 20 s"),
])
def test_does_the_report_say_what_happened(batch, student, says):
    assert says in batch["results"][student].report()


def test_does_an_infinite_loop_cost_only_its_own_question(batch):
    scores = cells(batch, "infinite-loop-in-answer")
    assert scores["q2_same_padding_tests"][0] == 0
    assert scores["q2_same_padding_tests"][2] == "timeout"
    toolkit = [g for g in AUTOGRADED if g.startswith("tk_")]
    assert all(scores[g][0] == scores[g][1] for g in toolkit), "grading did not go on"


def test_is_a_memory_bomb_stopped_by_the_memory_limit(batch):
    nb = nbformat.reads(batch["results"]["memory-bomb"].notebook, as_version=4)
    bomb = next(c for c in nb.cells if "hog.append" in c.source)
    errors = [o.get("ename") for o in bomb.outputs if o.get("output_type") == "error"]
    assert errors and errors[0] in {"MemoryError", "KernelDied"}, bomb.outputs
    assert autograded_total(batch, "memory-bomb") <= full_marks()


def test_is_a_fork_bomb_refused(batch):
    nb = nbformat.reads(batch["results"]["fork-bomb"].notebook, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "fork refused" in text


def test_is_a_huge_output_capped(batch):
    assert len(batch["results"]["huge-output"].notebook) < 2_000_000
    assert "output capped" in batch["results"]["huge-output"].notebook


def test_can_a_submission_read_secrets_write_outside_or_reach_the_network(batch):
    nb = nbformat.reads(batch["results"]["probe"].notebook, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "done probing" in text, "the probe did not run"
    assert "LEAK" not in text and "NET open" not in text, text[:2000]
    assert f"WROTE {REPO}" not in text
    for path in batch["secrets"]["write"]:
        assert not Path(path).exists(), f"{path} was written on the host"


def test_do_returned_notebooks_keep_hidden_tests_back(batch):
    from autograder.site import hidden_test_leaks

    returned = sorted((batch["course"].root / "returned").glob(f"*/{SLUG}/{SLUG}.ipynb"))
    assert len(returned) == len(batch["results"])
    assert not hidden_test_leaks(returned, [SLUG])
    graded = sorted((batch["course"].root / "autograded").glob(f"*/{SLUG}/{SLUG}.ipynb"))
    assert hidden_test_leaks(graded[:1], [SLUG]), "the leak check must see the instructor copy"
