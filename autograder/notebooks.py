"""Reading assignment sources and looking at their nbgrader cells."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from nbformat import NotebookNode
from nbgrader.utils import determine_grade

from autograder.paths import source_path

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
QUESTION_HEADING = re.compile(r"^##\s+(Question\s+(\d+)|Part\s+([A-Z]))\b", re.MULTILINE)


def read_source(slug: str) -> NotebookNode:
    """The assignment as an nbformat notebook, with cell ids that do not change between runs."""
    nb = jupytext.read(source_path(slug))
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3", "language": "python", "name": "python3"
    }
    return set_stable_ids(nb)


def set_stable_ids(nb: NotebookNode) -> NotebookNode:
    """Give each cell an id derived from its grade id or position (jupytext draws random ones)."""
    nb.nbformat, nb.nbformat_minor = 4, max(nb.get("nbformat_minor", 5), 5)
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell_id = re.sub(r"[^A-Za-z0-9_-]", "-", grade_id)[:64] if grade_id else f"cell-{index}"
        while cell_id in seen:
            cell_id = f"{cell_id[:56]}-{index}"
        seen.add(cell_id)
        cell["id"] = cell_id
    return nb


def write_notebook(nb: NotebookNode, path: Path) -> Path:
    """Write a notebook (validated) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path


def nbgrader_meta(cell: NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_graded(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def is_autograded_test(cell: NotebookNode) -> bool:
    """A code cell with points that the student does not write: nbgrader runs it to grade."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def is_manual(cell: NotebookNode) -> bool:
    """A cell with points that a person grades (the student writes it)."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade") and meta.get("solution"))


def graded_cells(nb: NotebookNode) -> Iterator[NotebookNode]:
    yield from (c for c in nb.cells if is_graded(c))


def question_of(grade_id: str) -> str:
    """The grade-export column of a cell: its grade id's prefix (``q3_table`` → ``q3``)."""
    return grade_id.split("_", 1)[0]


def parameters_cell(nb: NotebookNode) -> NotebookNode:
    """The papermill parameters cell; a clear error if the notebook has none."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return cell
    raise ValueError("The notebook has no cell tagged 'parameters' (see CONTRIBUTING.md).")


def parameters_source(profile: str, seed: int = 0) -> str:
    """The body of a parameters cell: the profile, and the seed every run starts from."""
    return f'PROFILE = "{profile}"\nSEED = {seed}'


def force_profile(nb: NotebookNode, profile: str) -> NotebookNode:
    """Set ``PROFILE`` (and ``SEED = 0``) in the parameters cell, whatever the student left
    there."""
    parameters_cell(nb).source = parameters_source(profile)
    return nb


def strip_lines_between(source: str, begin: str, end: str, keep_inner: bool) -> str:
    """Remove marker lines ``begin``/``end``; keep or drop what lies between them."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == begin:
            inside = True
            continue
        if stripped == end:
            inside = False
            continue
        if keep_inner or not inside:
            out.append(line)
    return "\n".join(out)


def hide_hidden_tests(cell: NotebookNode) -> NotebookNode:
    """Keep a test cell's hidden tests on the instructor's side (in place): remove the
    hidden-test region from its source and reduce an error's traceback to one line that
    names the error. What feedback and returned notebooks show students."""
    if cell.cell_type != "code" or HIDDEN_MARKERS[0] not in cell.source:
        return cell
    visible = strip_lines_between(cell.source, *HIDDEN_MARKERS, keep_inner=False)
    cell.source = visible.rstrip() + "\n# (hidden tests ran here; their code is not shown)"
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            output["traceback"] = [
                f"{output.get('ename', 'Error')}: a test in this cell failed "
                "(it may be a hidden test; its code is not shown)."
            ]
            output["evalue"] = ""
    return cell


def hidden_test_lines(nb: NotebookNode, min_length: int = 12) -> list[str]:
    """The lines of every hidden-test region, for leak checks (short lines are too common)."""
    lines = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if line.strip() == HIDDEN_MARKERS[0]:
                inside = True
            elif line.strip() == HIDDEN_MARKERS[1]:
                inside = False
            elif inside and len(line.strip()) >= min_length:
                lines.append(line.strip())
    return lines


def solution_lines(nb: NotebookNode, min_length: int = 16) -> list[str]:
    """Lines of solution regions and model answers, for leak checks of student-facing files."""
    lines = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution"):
            lines += [s.strip() for s in cell.source.splitlines() if len(s.strip()) >= min_length]
            continue
        inside = False
        for line in cell.source.splitlines():
            if line.strip() == SOLUTION_MARKERS[0]:
                inside = True
            elif line.strip() == SOLUTION_MARKERS[1]:
                inside = False
            elif inside and len(line.strip()) >= min_length:
                lines.append(line.strip())
    return lines


def public_lines(nb: NotebookNode) -> set[str]:
    """Stripped lines a student is meant to see: everything outside solution regions,
    hidden tests and model answers. A line found here is no evidence of a leak."""
    lines: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown" and nbgrader_meta(cell).get("solution"):
            continue
        source = strip_lines_between(cell.source, *SOLUTION_MARKERS, keep_inner=False)
        source = strip_lines_between(source, *HIDDEN_MARKERS, keep_inner=False)
        lines.update(line.strip() for line in source.splitlines())
    return lines


def secret_lines(nb: NotebookNode, solutions: bool = True) -> list[str]:
    """Lines that exist only in hidden tests (and, with ``solutions``, only in solution
    regions and model answers), nowhere inside public text: finding one in a
    student-facing file is a leak. Without
    ``solutions``, hidden-test lines that also occur in a solution are left out, since
    solution pages may show those."""
    secret = hidden_test_lines(nb) + (solution_lines(nb) if solutions else [])
    public = public_lines(nb) | (set() if solutions else set(solution_lines(nb, min_length=1)))
    public_text = "\n".join(public)
    return sorted({line for line in secret if line not in public_text})


def digest(*parts: bytes | str) -> str:
    """sha256 of the parts, in order."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


# --------------------------------------------------------------------------- scores


@dataclass
class CellOutcome:
    """One graded cell: its score and what happened when it ran."""

    grade_id: str
    points: float | None  # None: graded by hand
    max_points: float
    status: str  # passed, failed, timeout, kernel died, not run, manual
    message: str = ""


def score(nb: NotebookNode) -> list[CellOutcome]:
    """nbgrader's rules: an autograded cell scores full points unless it has an error."""
    outcomes = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        points, max_points = determine_grade(cell)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if points is None:
            status = "manual"
        elif errors:
            status = {"Timeout": "timeout", "KernelDied": "kernel died",
                      "NotRun": "not run"}.get(errors[0].get("ename"), "failed")
        else:
            status = "passed"
        message = f"{errors[0].get('ename')}: {str(errors[0].get('evalue'))[:200]}" \
            if errors else ""
        outcomes.append(CellOutcome(meta["grade_id"], points, float(max_points), status, message))
    return outcomes
