"""Grade one submission, safely: ``grade_submission(student, notebook, assignment, limits)``.

A pure function of its arguments (all picklable), so a process pool or a dask cluster can
run it anywhere the course package is installed. It never touches the gradebook: the
coordinating process records the :class:`GradeResult` (see :mod:`autograder.parallel`).

What it does, in a fresh scratch folder that holds only the release's files:

1. rebuilds the notebook from the instructor's source (:func:`merge_with_source`): every
   read-only cell comes from the source, by grade id (edited, deleted, duplicated or
   re-ordered test cells and changed metadata do not matter); solution cells keep the
   student's code; the student's own extra cells keep their place;
2. forces the grading profile (``smoke``);
3. runs it cell by cell in a sandboxed kernel (:mod:`autograder.sandbox`): no network,
   memory, CPU, process and file-size limits, a per-cell and a whole-notebook timeout,
   output capped. Before each test cell the pristine state of ``builtins``, ``math``,
   ``numpy``, ``torch`` … (snapshotted before any student code ran) is put back, so
   monkeypatching ``torch.allclose`` earns nothing;
4. when a cell times out or the kernel dies, that cell fails, a new kernel replays the
   cells that had worked, and grading goes on with the next cell;
5. scores each autograded cell with nbgrader's own ``determine_grade``.
"""

from __future__ import annotations

import copy
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from autograder.notebooks import (
    CellOutcome,
    force_profile,
    hide_hidden_tests,
    is_autograded_test,
    nbgrader_meta,
    score,
)
from autograder.sandbox import Limits, SandboxedKernelManager, kernel_environment, sandbox_uid

DEFAULT_SCRATCH = Path("/var/lib/dlcourse-grading")
GUARDED_MODULES = ("builtins", "math", "random", "operator", "numpy", "numpy.testing",
                   "numpy.linalg", "torch", "torch.nn", "torch.nn.functional", "torch.testing",
                   "torch.linalg", "unittest", "pytest")

GUARD_INSTALL = '''
def {name}_make():
    import builtins, importlib, sys
    modules = {{}}
    for module_name in {modules!r}:
        try:
            modules[module_name] = importlib.import_module(module_name)
        except Exception:
            pass
    classes = []
    for owner, attr in (("torch", "Tensor"), ("torch.nn", "Module"), ("numpy", "ndarray")):
        if owner in modules:
            classes.append(getattr(modules[owner], attr))
    module_state = {{n: (m, dict(vars(m))) for n, m in modules.items()}}
    class_state = [(c, dict(vars(c))) for c in classes]
    user_ns = get_ipython().user_ns
    bindings = {{k: v for k, v in user_ns.items() if not k.startswith("_")
                and type(v).__name__ in ("module", "function", "builtin_function_or_method",
                                         "type")}}
    setattr_, dict_update = setattr, dict.update
    def restore():
        for module_name, (module, state) in module_state.items():
            sys.modules[module_name] = module
            dict_update(vars(module), state)
        for cls, state in class_state:
            for key, value in state.items():
                if key != "__dict__" and vars(cls).get(key, None) is not value:
                    try:
                        setattr_(cls, key, value)
                    except (TypeError, AttributeError):
                        pass
        dict_update(user_ns, bindings)
        user_ns["__builtins__"] = builtins
    return restore
{name} = {name}_make()
del {name}_make
'''


@dataclass(frozen=True)
class Assignment:
    """What grading needs to know about an assignment; picklable, sent to every worker."""

    slug: str
    source: str  # the instructor's notebook (solutions and hidden tests), JSON
    release: str  # the student notebook (stubs), JSON
    files: dict[str, bytes] = field(default_factory=dict)  # other release files
    profile: str = "smoke"

    @property
    def notebook_name(self) -> str:
        return f"{self.slug}.ipynb"


@dataclass
class GradeResult:
    """Everything the coordinator records for one submission."""

    student: str
    slug: str
    cells: list[CellOutcome]
    notebook: str  # the graded notebook (hidden tests included), JSON: instructor only
    events: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""  # grading itself failed (not the student's code)

    @property
    def score(self) -> float:
        return sum(c.points or 0.0 for c in self.cells)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.cells)

    def report(self) -> str:
        """The per-submission report: score, then every event (timeouts, crashes …)."""
        head = f"{self.student}: {self.score:g}/{self.max_score:g} in {self.seconds:.1f} s"
        lines = [head] + [f"  {event}" for event in self.events]
        if self.error:
            lines.append(f"  GRADING ERROR: {self.error}")
        return "\n".join(lines)


# --- 1. the notebook that is run ------------------------------------------------------------
def grade_id_of(cell: NotebookNode) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def merge_with_source(student: NotebookNode, source: NotebookNode,
                      release: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """The notebook to grade: source skeleton, the student's solution cells, their extras.

    Cells with a grade id come from the source when read-only and from the student when
    they are answers (the release stub if deleted); a plain code cell of the source
    (imports, helpers) is the student's version when it is still there; cells the student
    added keep their place after the graded cell that precedes them. Returns the notebook
    and notes on what was repaired.
    """
    notes: list[str] = []
    known = {grade_id_of(c) for c in source.cells if grade_id_of(c)}
    plain_ids = {c.get("id") for c in source.cells if not grade_id_of(c)}
    stubs = {grade_id_of(c): c for c in release.cells if grade_id_of(c)}
    answers: dict[str, NotebookNode] = {}
    kept_plain: dict[str, NotebookNode] = {}
    extras: dict[str | None, list[NotebookNode]] = {}
    anchor: str | None = None
    for cell in student.cells:
        grade_id = grade_id_of(cell)
        if grade_id in known:
            if grade_id in answers:
                notes.append(f"duplicate of cell {grade_id!r} dropped")
            else:
                answers[grade_id] = cell
                anchor = grade_id
        elif not grade_id and cell.get("id") in plain_ids:
            kept_plain.setdefault(cell["id"], cell)
        else:
            if grade_id:
                notes.append(f"cell with unknown grade id {grade_id!r} kept, ungraded")
            extras.setdefault(anchor, []).append(plain_copy(cell))
    merged = copy.deepcopy(source)
    merged.cells = []
    for cell in source.cells:
        grade_id = grade_id_of(cell)
        if grade_id:
            if not merged.cells or not any(grade_id_of(c) for c in merged.cells):
                merged.cells += extras.pop(None, [])
            merged.cells.append(chosen_cell(cell, answers, stubs, notes))
            merged.cells += extras.pop(grade_id, [])
        elif cell.cell_type == "code" and cell.get("id") in kept_plain:
            merged.cells.append(plain_copy(kept_plain[cell["id"]]))
        else:
            merged.cells.append(copy.deepcopy(cell))
    return merged, notes


def plain_copy(cell: NotebookNode) -> NotebookNode:
    """A student's cell without nbgrader metadata (it can never carry points)."""
    cell = copy.deepcopy(cell)
    cell.metadata.pop("nbgrader", None)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def chosen_cell(cell: NotebookNode, answers: dict[str, NotebookNode],
                stubs: dict[str, NotebookNode], notes: list[str]) -> NotebookNode:
    """Source cell with grade id: the source's if read-only, else the student's answer."""
    grade_id = grade_id_of(cell)
    out = copy.deepcopy(cell)
    if not grade_id:
        return out
    meta = nbgrader_meta(cell)
    answer = answers.get(grade_id)
    if meta.get("solution") and not meta.get("locked"):
        given = answer if answer is not None else stubs.get(grade_id, cell)
        if answer is None:
            notes.append(f"cell {grade_id!r} was deleted: graded as the release stub")
        out.source = given.source
        stub_checksum = nbgrader_meta(stubs.get(grade_id, cell)).get("checksum")
        if stub_checksum:  # as in nbgrader: an answer left as released scores 0 outright
            out.metadata.nbgrader["checksum"] = stub_checksum
    elif answer is None:
        notes.append(f"read-only cell {grade_id!r} was deleted: restored")
    elif answer.source not in (stubs.get(grade_id, cell).source, cell.source):
        notes.append(f"read-only cell {grade_id!r} was edited: restored")
    if out.cell_type == "code":
        out.outputs, out.execution_count = [], None
    return out


# --- 3./4. running it ------------------------------------------------------------------------
CAPPED = "\n[output capped by the grader]\n"


class CappedClient(NotebookClient):
    """nbclient, with the text a cell may print capped (a huge output cannot flood us)."""

    max_output_chars = 100_000

    def output(self, outs, msg, display_id, cell_index):
        if sum(len(str(o)) for o in outs) > self.max_output_chars:
            if not (outs and CAPPED in str(outs[-1].get("text", ""))):
                outs.append(nbformat.v4.new_output("stream", name="stdout", text=CAPPED))
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None and len(str(out.get("text", ""))) > self.max_output_chars:
            out["text"] = out["text"][: self.max_output_chars] + CAPPED
        return out


def failure_output(kind: str, message: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=kind, evalue=message,
                                  traceback=[f"{kind}: {message}"])


class Runner:
    """Runs a notebook's cells in a sandboxed kernel; restarts the kernel after a crash."""

    def __init__(self, nb: NotebookNode, workdir: Path, limits: Limits, preamble: list[str]):
        self.nb, self.workdir, self.limits = nb, workdir, limits
        self.guard = "_" + secrets.token_hex(8)
        self.preamble = [*preamble, GUARD_INSTALL.format(name=self.guard,
                                                         modules=GUARDED_MODULES)]
        self.events: list[str] = []
        self.done: list[int] = []  # cells that ran to the end (errors included)
        self.client: CappedClient | None = None
        self.deadline = 0.0

    def start(self) -> None:
        km = SandboxedKernelManager(workdir=self.workdir, limits=self.limits,
                                    uid=sandbox_uid(secrets.randbelow(10**6)))
        self.client = CappedClient(self.nb, km=km, timeout=self.limits.cell_timeout,
                                   allow_errors=True, interrupt_on_timeout=False,
                                   startup_timeout=120,
                                   resources={"metadata": {"path": str(self.workdir)}})
        self.client.max_output_chars = self.limits.max_output_chars
        self.client.reset_execution_trackers()
        self.client.start_new_kernel(env=kernel_environment(self.workdir))
        self.client.start_new_kernel_client()
        for code in self.preamble:
            self.silent(code)
        for index in self.done:  # replay what had worked before a crash
            cell = copy.deepcopy(self.nb.cells[index])
            self.before(cell)
            self.client.execute_cell(cell, index)

    def silent(self, code: str) -> None:
        assert self.client and self.client.kc
        run_sync(self.client.kc.execute_interactive)(code, silent=True, store_history=False,
                                                     timeout=self.limits.cell_timeout)

    def stop(self) -> None:
        if self.client and self.client.km:
            try:
                self.client.kc.stop_channels()
                run_sync(self.client.km.shutdown_kernel)(now=True)
            except Exception:
                pass
        self.client = None

    def before(self, cell: NotebookNode) -> None:
        if is_autograded_test(cell) and self.limits.guard_libraries:
            self.silent(f"{self.guard}()")

    def run(self) -> None:
        self.deadline = time.monotonic() + self.limits.notebook_timeout
        try:
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                left = self.deadline - time.monotonic()
                if left <= 0:
                    self.mark_not_run(index)
                    continue
                self.run_cell(index, cell, left)
        finally:
            self.stop()

    def run_cell(self, index: int, cell: NotebookNode, left: float) -> None:
        where = grade_id_of(cell) or f"cell {index}"
        try:
            if self.client is None:
                self.start()
            assert self.client
            self.client.timeout = max(1, int(min(self.limits.cell_timeout, left)))
            self.before(cell)
            self.client.execute_cell(cell, index)
            self.done.append(index)
            return
        except CellTimeoutError:
            limit = self.client.timeout if self.client else self.limits.cell_timeout
            kind, message = "Timeout", f"{where} ran longer than {limit} s: stopped"
        except DeadKernelError:
            kind, message = "KernelDied", f"the kernel died in {where} ({self.death_cause()})"
        except Exception as err:  # a kernel that cannot start or answer
            kind, message = "KernelDied", f"{where}: {type(err).__name__}: {err}"[:300]
        self.events.append(message)
        cell.outputs = [failure_output(kind, message)]
        self.stop()

    def death_cause(self) -> str:
        return "it exited, crashed, or hit the memory, CPU or process limit"

    def mark_not_run(self, index: int) -> None:
        cell = self.nb.cells[index]
        where = grade_id_of(cell) or f"cell {index}"
        if not any(e.startswith("notebook time limit") for e in self.events):
            self.events.append(f"notebook time limit ({self.limits.notebook_timeout:g} s) "
                               f"reached before {where}: later cells not run")
        cell.outputs = [failure_output("NotRun", "the notebook time limit was reached")]


def setup_cells(source: NotebookNode) -> list[str]:
    """The source's code before the parameters cell (imports): run before student code so
    that the guard snapshots the libraries the tests use."""
    code = []
    for cell in source.cells:
        if grade_id_of(cell) == "parameters":
            break
        if cell.cell_type == "code" and "%pip" not in cell.source:
            code.append(cell.source)
    return code


def write_release_files(assignment: Assignment, workdir: Path) -> None:
    for name, data in assignment.files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def grade_submission(student: str, submission: str, assignment: Assignment,
                     limits: Limits | None = None, scratch_root: str | None = None
                     ) -> GradeResult:
    """Grade one notebook (JSON text) of ``student``; never raises for the student's code."""
    started = time.perf_counter()
    limits = limits or Limits()
    source = nbformat.reads(assignment.source, as_version=4)
    result = GradeResult(student, assignment.slug, [], "")
    try:
        release = nbformat.reads(assignment.release, as_version=4)
        student_nb = nbformat.reads(submission, as_version=4)
        nb, notes = merge_with_source(student_nb, source, release)
    except Exception as err:
        result.error = f"unreadable notebook: {type(err).__name__}: {err}"[:300]
        nb, notes = copy.deepcopy(nbformat.reads(assignment.release, as_version=4)), []
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [failure_output("NotRun", "the submission could not be read")]
        result.cells, result.notebook = score(nb), nbformat.writes(nb)
        return result
    force_profile(nb, assignment.profile)
    root = Path(scratch_root or DEFAULT_SCRATCH)
    root.mkdir(parents=True, exist_ok=True, mode=0o711)
    workdir = Path(tempfile.mkdtemp(prefix=f"{student[:20]}-", dir=root))
    try:
        write_release_files(assignment, workdir)
        runner = Runner(nb, workdir, limits, setup_cells(source))
        runner.run()
        result.events = notes + runner.events
    except Exception as err:
        result.error = f"{type(err).__name__}: {err}"[:500]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.cells = score(nb)
    result.notebook = nbformat.writes(nb)
    result.seconds = time.perf_counter() - started
    return result


def without_hidden_tests(nb: NotebookNode) -> NotebookNode:
    """A copy safe to hand back: hidden-test code removed, their tracebacks reduced."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        hide_hidden_tests(cell)
    return nb
