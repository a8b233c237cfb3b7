"""Execute assignment solutions with papermill into the pages the site renders.

``python -m autograder execute --profile book`` runs every ``assignments/<slug>/<slug>.md``
and writes ``solutions/<slug>.ipynb``: executed, hidden tests removed, solution markers
dropped, profile and wall time in the metadata and in a note at the top of the page. A
notebook whose source, assets, profile and helper code did not change is not run again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import papermill
from nbformat import NotebookNode

from autograder import paths
from autograder.notebooks import (
    HIDDEN_MARKERS,
    SOLUTION_MARKERS,
    digest,
    read_source,
    strip_lines_between,
    write_notebook,
)
from autograder.paths import REPO, SOLUTIONS

# Code whose change must re-execute the notebooks: the helper package and this tool.
FINGERPRINT_CODE = [REPO / "dlcourse", Path(__file__), REPO / "autograder" / "notebooks.py"]
CELL_TIMEOUT_S = 1800


@dataclass
class Outcome:
    """What happened to one notebook."""

    slug: str
    status: str  # "executed", "cached" or "failed"
    seconds: float = 0.0
    message: str = ""


def fingerprint(slug: str, profile: str) -> str:
    """Hash of everything that decides the executed notebook."""
    files = sorted(p for p in (paths.ASSIGNMENTS / slug).rglob("*") if p.is_file())
    for code in FINGERPRINT_CODE:
        files += sorted(code.rglob("*.py")) if code.is_dir() else [code]
    parts = [profile]
    for path in files:
        if "__pycache__" not in path.parts:
            root = paths.ASSIGNMENTS if path.is_relative_to(paths.ASSIGNMENTS) else REPO
            parts += [path.relative_to(root).as_posix(), path.read_bytes()]
    return digest(*parts)


def is_current(page: Path, key: str) -> bool:
    """Does ``page`` exist and come from exactly this fingerprint?"""
    if not page.is_file():
        return False
    meta = nbformat.read(page, as_version=4).metadata.get("dlcourse", {})
    return meta.get("fingerprint") == key


def execute(slug: str, profile: str, out_dir: Path = SOLUTIONS, force: bool = False,
            threads: int | None = None, seed: int | None = None) -> Outcome:
    """Execute one assignment unless its page is current; never raises for a failing cell.

    ``seed`` overrides the notebook's ``SEED`` parameter (default: the notebook's own, 0);
    ``threads`` sets the kernel's CPU threads (default: every core).
    """
    page = out_dir / f"{slug}.ipynb"
    parameters: dict[str, object] = {"PROFILE": profile}
    if seed is not None:
        parameters["SEED"] = seed
    key = fingerprint(slug, profile) if seed is None else fingerprint(slug, f"{profile}/{seed}")
    if not force and is_current(page, key):
        return Outcome(slug, "cached")
    with tempfile.TemporaryDirectory() as tmp, environment(kernel_environment(threads)):
        source = write_notebook(read_source(slug), Path(tmp) / f"{slug}.ipynb")
        executed = Path(tmp) / "executed.ipynb"
        started = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(source), str(executed), parameters=parameters,
                kernel_name="python3", cwd=str(paths.ASSIGNMENTS / slug), progress_bar=False,
                execution_timeout=CELL_TIMEOUT_S,
            )
        except papermill.PapermillExecutionError as err:
            failed = out_dir / f"{slug}.failed.ipynb"
            out_dir.mkdir(parents=True, exist_ok=True)
            if executed.exists():
                failed.write_bytes(executed.read_bytes())
            first_line = (err.source or "").strip().splitlines()[:1]
            return Outcome(
                slug, "failed", time.perf_counter() - started,
                f"cell {err.cell_index} (execution count {err.exec_count}) raised "
                f"{err.ename}: {err.evalue}\n    first line of the cell: {first_line}\n"
                f"    the executed notebook is in {failed}",
            )
        seconds = time.perf_counter() - started
        nb = nbformat.read(executed, as_version=4)
    (out_dir / f"{slug}.failed.ipynb").unlink(missing_ok=True)
    write_notebook(make_page(nb, slug, profile, seconds, key), page)
    return Outcome(slug, "executed", seconds)


def kernel_environment(threads: int | None = None) -> dict[str, str]:
    """What a page's kernel runs with: one progress line per epoch (a static page), the same
    set and str-hash order in every run, and ``threads`` CPU threads (default: every core)."""
    env = {"DLCOURSE_PROGRESS": "lines", "PYTHONHASHSEED": "0"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables (which the kernel inherits) and restore them afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def make_page(nb: NotebookNode, slug: str, profile: str, seconds: float, key: str) -> NotebookNode:
    """Turn an executed solution into the site's page: no hidden tests, no markers."""
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
        if cell.cell_type == "code":
            source = strip_lines_between(cell.source, *HIDDEN_MARKERS, keep_inner=False)
            cell.source = strip_lines_between(source, *SOLUTION_MARKERS, keep_inner=True)
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nb.metadata.pop("papermill", None)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    nb.metadata["dlcourse"] = {
        "slug": slug, "profile": profile, "wall_time_s": round(seconds, 1),
        "executed_at": stamp, "fingerprint": key,
    }
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(page_note(slug, profile, seconds, stamp)))
    nb.cells[1]["id"] = "page-note"
    return nb


def page_note(slug: str, profile: str, seconds: float, stamp: str) -> str:
    """The note at the top of each solution page: what ran, and where the student copy is."""
    return (
        ":::{admonition} Solution page\n:class: tip\n"
        f"This page is the executed solution of `{slug}`, run with the **`{profile}`** profile "
        f"in **{seconds:.0f} s** on {stamp} "
        "(see [Data and profiles](../book/data-and-profiles.md))."
        " Hidden tests are not shown.\n\n"
        f'To do the assignment, <a href="../notebooks/{slug}.ipynb" download>download the '
        "student notebook</a> (stubs and visible tests) and follow the "
        "[student guide](../book/student-guide.md).\n:::"
    )


def execute_all(slugs: list[str], profile: str, out_dir: Path = SOLUTIONS, force: bool = False,
                jobs: int | None = None, seed: int | None = None,
                dask_address: str | object | None = None,
                threads: int | None = None) -> list[Outcome]:
    """Execute several assignments. ``smoke`` runs notebooks in parallel (one per core);
    ``book`` and ``full`` run one notebook at a time with every core by default, the setting
    their pages' numbers were measured in (thread counts change floating-point results and
    timings). ``jobs`` overrides it, with the cores shared out among the notebooks.
    ``dask_address`` (an address or a ``distributed.Client``) runs each notebook on a
    worker of a dask cluster instead, e.g. the ``full`` profile on GPU machines.
    ``threads`` fixes each notebook's CPU threads (default: the cores shared out)."""
    if dask_address is not None:
        return execute_on_dask(slugs, profile, out_dir, force, seed, dask_address, threads)
    cores = os.cpu_count() or 1
    default_jobs = cores if profile == "smoke" else 1
    jobs = max(1, min(jobs or default_jobs, len(slugs), cores))
    threads = threads or max(1, cores // jobs)
    if jobs == 1:
        return [execute(s, profile, out_dir, force, threads, seed) for s in slugs]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(execute, s, profile, out_dir, force, threads, seed) for s in slugs]
        return [f.result() for f in futures]


def execute_elsewhere(slug: str, profile: str, seed: int | None, expected_key: str,
                      threads: int | None = None) -> tuple[Outcome, str | None]:
    """Run on a dask worker: execute into a scratch folder and return the page's text.

    The worker needs a checkout of the same course (assignments and helper package); the
    fingerprint it computes must equal the caller's, else nothing runs."""
    key = fingerprint(slug, profile if seed is None else f"{profile}/{seed}")
    if key != expected_key:
        return Outcome(slug, "failed", message=(
            f"the worker's copy of the course differs from the caller's ({paths.REPO}): "
            "install the same commit on every worker")), None
    with tempfile.TemporaryDirectory() as tmp:
        outcome = execute(slug, profile, Path(tmp), force=True, threads=threads, seed=seed)
        page = Path(tmp) / f"{slug}.ipynb"
        if outcome.status == "failed":
            page = Path(tmp) / f"{slug}.failed.ipynb"
        return outcome, page.read_text() if page.is_file() else None


def execute_on_dask(slugs: list[str], profile: str, out_dir: Path, force: bool,
                    seed: int | None, address: str | object,
                    threads: int | None = None) -> list[Outcome]:
    """Every notebook that is not current, each on a worker of a dask cluster at once."""
    from distributed import Client

    keys = {s: fingerprint(s, profile if seed is None else f"{profile}/{seed}") for s in slugs}
    todo = [s for s in slugs if force or not is_current(out_dir / f"{s}.ipynb", keys[s])]
    outcomes = {s: Outcome(s, "cached") for s in slugs if s not in todo}
    client = address if isinstance(address, Client) else Client(address)
    try:
        n = len(todo)
        futures = client.map(execute_elsewhere, todo, [profile] * n, [seed] * n,
                             [keys[s] for s in todo], [threads] * n, pure=False)
        for slug, future in zip(todo, futures, strict=True):
            outcome, text = future.result()
            if text is not None:
                name = f"{slug}.failed.ipynb" if outcome.status == "failed" else f"{slug}.ipynb"
                out_dir.mkdir(parents=True, exist_ok=True)
                (out_dir / name).write_text(text)
            if outcome.status == "executed":
                (out_dir / f"{slug}.failed.ipynb").unlink(missing_ok=True)
            outcomes[slug] = outcome
    finally:
        if client is not address:
            client.close()
    return [outcomes[s] for s in slugs]
