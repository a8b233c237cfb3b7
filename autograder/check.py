"""A student's local check: run a notebook's visible tests and print points per question.

``python -m autograder check my-notebook.ipynb`` executes a copy of the notebook under
the ``smoke`` profile (the original is not modified), then scores each autograded cell
with nbgrader's own rules. Hidden tests are not in a student's notebook, so the points
shown are an upper bound of the autograded part; essays are graded by hand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.utils import compute_checksum

from autograder.notebooks import force_profile, is_manual, nbgrader_meta, question_of, score


@dataclass
class CellResult:
    grade_id: str
    question: str
    points: float
    max_points: float
    error: str = ""


def run_notebook(path: Path, profile: str = "smoke", timeout: int = 120) -> nbformat.NotebookNode:
    """Execute a copy of the notebook in its own folder; errors are recorded, not raised.
    Read-only cells that the student edited are listed in ``nb.metadata.edited_cells``."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["edited_cells"] = edited_read_only_cells(nb)
    force_profile(nb, profile)
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent.resolve())}}).execute()
    return nb


def edited_read_only_cells(nb: nbformat.NotebookNode) -> list[str]:
    """Grade ids of locked cells whose content no longer matches nbgrader's checksum."""
    edited = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        checksum = meta.get("checksum")
        if meta.get("locked") and checksum and compute_checksum(cell) != checksum:
            edited.append(meta.get("grade_id", "?"))
    return edited


def score_cells(nb: nbformat.NotebookNode) -> tuple[list[CellResult], list[str], list[str]]:
    """Scores of the autograded cells, ids of manual cells, ids of edited read-only cells
    (scored like the autograder does, :func:`autograder.notebooks.score`)."""
    results, manual = [], []
    by_hand = {nbgrader_meta(cell)["grade_id"] for cell in nb.cells if is_manual(cell)}
    for outcome in score(nb):
        if outcome.grade_id in by_hand:
            manual.append(outcome.grade_id)
        else:
            results.append(CellResult(outcome.grade_id, question_of(outcome.grade_id),
                                      outcome.points or 0.0, outcome.max_points, outcome.message))
    return results, manual, list(nb.metadata.get("edited_cells", []))


def report(results: list[CellResult], manual: list[str], edited: list[str]) -> str:
    """The text a student reads: per test, per question, total."""
    lines = []
    for r in results:
        mark = "PASS" if r.points == r.max_points else "FAIL"
        lines.append(f"  {mark} {r.grade_id:<36} {r.points:g}/{r.max_points:g}"
                     + (f"  {r.error[:100]}" if r.error else ""))
    per_q: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in results:
        per_q[r.question][0] += r.points
        per_q[r.question][1] += r.max_points
    lines.append("")
    lines.append("Autograded points per question (visible tests only):")
    lines += [f"  {q:<6} {got:g}/{top:g}" for q, (got, top) in per_q.items()]
    got = sum(r.points for r in results)
    top = sum(r.max_points for r in results)
    lines.append(f"  total  {got:g}/{top:g}")
    if manual:
        lines.append(f"Graded by hand later: {', '.join(manual)}")
    if edited:
        lines.append("WARNING: you edited read-only cells; grading restores them: "
                     + ", ".join(edited))
    return "\n".join(lines)


def check(path: Path, profile: str = "smoke") -> int:
    """Run the check and print the report; exit status 0 when every visible test passes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No notebook at {path}.")
    print(f"Running {path.name} under the {profile!r} profile (a copy; your file is unchanged)...")
    results, manual, edited = score_cells(run_notebook(path, profile))
    print(report(results, manual, edited))
    return 0 if all(r.points == r.max_points for r in results) else 1
