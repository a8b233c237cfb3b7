"""How far do a page's claims move across seeds, thread counts and CPUs?

``python -m autograder spread a06-init-normalization --seeds 0 1 2 --threads 1 2`` runs
the book profile once per seed and thread count (``--avx2`` adds a run of the first seed
with one thread and an older CPU's kernels, ``ONEDNN_MAX_CPU_ISA=AVX2
ATEN_CPU_CAPABILITY=avx2``). In these runs every
``assert`` inside an ``if PROFILE == "book":`` block is *recorded* instead of raised:
whether it held, and the value of each side of its comparisons. The report lists, per
assertion, in how many runs it held and the range of each measured value: the numbers a
``# spread:`` comment beside the assertion states, and a threshold is set from.
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import papermill
from nbformat import NotebookNode

from autograder import paths
from autograder.execute import CELL_TIMEOUT_S, environment, kernel_environment
from autograder.notebooks import read_source, write_notebook

AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
RECORDER = '''\
import json as _json, os as _os
def __claim__(key, text, test, operands):
    """Record an assertion of the book profile instead of raising it (autograder spread)."""
    try:
        held = bool(test())
    except Exception as err:
        held = f"{type(err).__name__}: {err}"[:200]
    values = {}
    for source, value in operands:
        try:
            values[source] = float(value())
        except Exception:
            pass
    with open(_os.environ["DLCOURSE_CLAIMS"], "a") as out:
        out.write(_json.dumps({"key": key, "text": text, "held": held, "values": values}) + "\\n")
'''


def is_book_test(test: ast.expr) -> bool:
    """Is this ``PROFILE == "book"``?"""
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "PROFILE" and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "book")


def operands_of(test: ast.expr) -> list[ast.expr]:
    """The non-constant sides of the comparisons in ``test`` (through ``and``/``not``)."""
    if isinstance(test, ast.BoolOp):
        return [o for value in test.values for o in operands_of(value)]
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return operands_of(test.operand)
    if isinstance(test, ast.Compare):
        return [e for e in [test.left, *test.comparators] if not is_constant(e)]
    return []


def is_constant(expr: ast.expr) -> bool:
    """A literal number, also a negative one (``-0.6`` is a unary minus on 0.6)."""
    if isinstance(expr, ast.UnaryOp):
        return is_constant(expr.operand)
    return isinstance(expr, ast.Constant)


class RecordBookAsserts(ast.NodeTransformer):
    """Replace each assert inside ``if PROFILE == "book":`` by a call to ``__claim__``; with
    ``everywhere``, every assert of the cell outside function and class bodies."""

    def __init__(self, cell_id: str, source: str, everywhere: bool = False) -> None:
        self.cell_id, self.source, self.depth = cell_id, source, int(everywhere)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node  # an assert in a function is a contract of the code, not a claim

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> ast.AST:
        inside = is_book_test(node.test)
        self.depth += inside
        self.generic_visit(node)
        self.depth -= inside
        return node

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        if not self.depth:
            return node
        text = ast.get_source_segment(self.source, node) or ast.unparse(node)

        def thunk(expr: ast.expr) -> ast.Lambda:
            return ast.Lambda(ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                            kw_defaults=[], defaults=[]), expr)

        operands = ast.List([ast.Tuple([ast.Constant(ast.unparse(e)), thunk(e)], ast.Load())
                             for e in operands_of(node.test)], ast.Load())
        call = ast.Call(ast.Name("__claim__", ast.Load()),
                        [ast.Constant(f"{self.cell_id}:{node.lineno}"), ast.Constant(text),
                         thunk(node.test), operands], [])
        return ast.copy_location(ast.Expr(call), node)


def record_book_asserts(nb: NotebookNode,
                        everywhere: bool = False) -> tuple[NotebookNode, int]:
    """The notebook with its book-profile asserts recorded, and how many were rewritten.
    With ``everywhere``, the asserts of every cell but the autograder's tests are recorded
    (to find, in one run per seed, every check that another seed breaks)."""
    from autograder.notebooks import is_autograded_test

    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or is_autograded_test(cell):
            continue
        if not (everywhere or 'PROFILE == "book"' in cell.source):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: not a claim
            continue
        before = ast.dump(tree)
        tree = ast.fix_missing_locations(RecordBookAsserts(cell.get("id", "?"), cell.source,
                                                           everywhere).visit(tree))
        if ast.dump(tree) != before:
            count += cell.source.count("assert")
            cell.source = ast.unparse(tree)
    nb.cells.insert(0, NotebookNode(cell_type="code", source=RECORDER, metadata={},
                                    outputs=[], execution_count=None, id="claims-recorder"))
    return nb, count


@dataclass
class Config:
    """One run of the spread: seed, CPU threads, and whether an older CPU is emulated."""

    seed: int
    threads: int
    avx2: bool = False

    def __str__(self) -> str:
        return f"seed {self.seed}, {self.threads} thread(s)" + (", AVX2" if self.avx2 else "")


@dataclass
class Claim:
    """One assertion across runs."""

    text: str
    held: dict[str, bool | str] = field(default_factory=dict)
    values: dict[str, dict[str, list[float]]] = field(default_factory=lambda: defaultdict(dict))


def run_config(slug: str, config: Config, profile: str = "book",
               keep: Path | None = None, everywhere: bool = False) -> tuple[list[dict], str]:
    """Execute once with asserts recorded; the records, and an error message if it stopped.
    With ``keep``, the executed notebook is saved there (for reading its outputs)."""
    nb, _ = record_book_asserts(read_source(slug), everywhere)
    with tempfile.TemporaryDirectory() as tmp:
        claims = Path(tmp) / "claims.jsonl"
        env = {**kernel_environment(config.threads), "DLCOURSE_CLAIMS": str(claims),
               **(AVX2 if config.avx2 else {})}
        source = write_notebook(nb, Path(tmp) / f"{slug}.ipynb")
        error = ""
        with environment(env):
            try:
                papermill.execute_notebook(
                    str(source), str(Path(tmp) / "out.ipynb"),
                    parameters={"PROFILE": profile, "SEED": config.seed}, kernel_name="python3",
                    cwd=str(paths.ASSIGNMENTS / slug), progress_bar=False,
                    execution_timeout=CELL_TIMEOUT_S)
            except papermill.PapermillExecutionError as err:
                error = f"cell {err.cell_index} raised {err.ename}: {err.evalue}"
        records = [json.loads(line) for line in claims.read_text().splitlines()] \
            if claims.exists() else []
        executed = Path(tmp) / "out.ipynb"
        if keep is not None and executed.exists():
            keep.mkdir(parents=True, exist_ok=True)
            name = f"{slug}-seed{config.seed}-t{config.threads}{'-avx2' if config.avx2 else ''}"
            (keep / f"{name}.ipynb").write_bytes(executed.read_bytes())
            if claims.exists():  # the records too, so a run cut short loses nothing
                (keep / f"{name}.claims.jsonl").write_bytes(claims.read_bytes())
    return records, error


def measure(slug: str, configs: list[Config], profile: str = "book", jobs: int = 1,
            keep: Path | None = None,
            everywhere: bool = False) -> tuple[dict[str, Claim], dict[str, str]]:
    """Every claim over every config; and the configs whose run stopped, with the error."""
    from concurrent.futures import ProcessPoolExecutor

    claims: dict[str, Claim] = {}
    errors: dict[str, str] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {str(c): pool.submit(run_config, slug, c, profile, keep, everywhere)
                   for c in configs}
        for name, future in futures.items():
            started = time.perf_counter()
            records, error = future.result()
            print(f"  {slug}, {name}: {len(records)} claims recorded"
                  + (f"; STOPPED: {error}" if error else "")
                  + f" ({time.perf_counter() - started:.0f} s waited)", flush=True)
            if error:
                errors[name] = error
            for record in records:  # an assert in a loop is recorded once per pass
                claim = claims.setdefault(record["key"], Claim(record["text"]))
                if claim.held.get(name, True) is True:  # keep the first failure
                    claim.held[name] = record["held"]
                for operand, value in record["values"].items():
                    claim.values[operand].setdefault(name, []).append(value)
    return claims, errors


def format_report(slug: str, claims: dict[str, Claim], configs: list[Config]) -> str:
    """A Markdown report: per assertion, how often it held and the range of its values."""
    lines = [f"## {slug}: {len(claims)} book assertions over {len(configs)} runs",
             "", "runs: " + "; ".join(str(c) for c in configs), ""]
    for key, claim in claims.items():
        held = sum(v is True for v in claim.held.values())
        mark = "ok" if held == len(configs) else "FAILS"
        lines.append(f"- **{mark}** {held}/{len(configs)} `{key}`: `{claim.text[:160]}`")
        for operand, by_run in claim.values.items():
            values = [v for run_values in by_run.values() for v in run_values]
            per_run = ", ".join(value_range(v) for v in by_run.values())
            lines.append(f"    - `{operand[:70]}`: {min(values):.4g} … {max(values):.4g} "
                         f"(per run: {per_run})")
        for run, verdict in claim.held.items():
            if verdict is not True:
                lines.append(f"    - failed in {run}" + (f": {verdict}" if verdict else ""))
    return "\n".join(lines)


def value_range(values: list[float]) -> str:
    """``0.5`` or ``0.5-0.7``: one run's values of an operand (several in a loop)."""
    low, high = min(values), max(values)
    return f"{low:.4g}" if low == high else f"{low:.4g}-{high:.4g}"


def default_configs(seeds: list[int], threads: list[int], avx2: bool) -> list[Config]:
    configs = [Config(s, t) for s in seeds for t in threads]
    if avx2:
        configs.append(Config(seeds[0], 1, avx2=True))
    return configs


def cpu_count() -> int:
    return os.cpu_count() or 1
