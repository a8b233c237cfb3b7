"""Is a notebook's run reproducible? Execute it twice and list every output that differs.

``python -m autograder reproduce a04-cnn-regularization --profile smoke`` runs the
assignment twice with the same profile, seed and thread count and compares the two
pages output by output: printed text, tables, and the data behind every figure (the PNG
bytes). Timings are the one allowed difference: numbers with a time unit (``12.3 s``,
``45 ms``, ``850 img/s``) are masked before comparing, so are the columns of a table
whose header names a time or speed ("seconds", "time (s)", "img/s"), and a cell tagged
``timing`` (a benchmark whose printed numbers and figure are measurements of speed) is
skipped whole.
"""

from __future__ import annotations

import difflib
import json
import re
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbformat import NotebookNode

TIMING_TAG = "timing"
# A number followed by a unit of time or of speed, e.g. "3.2 s", "41ms", "1,200 img/s".
_NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?"
_UNIT = r"(?:s|sec|seconds?|ms|µs|us|ns|min|minutes?|h|it/s|s/it|img/s|images/s|samples/s)"
TIMING = re.compile(rf"{_NUMBER}\s*{_UNIT}(?![A-Za-z0-9])")
# tqdm's bar ([00:03<00:00, 2.95it/s]) and clock times like 00:03.
CLOCK = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
# A ratio of two timings: "(11 x)", "1.7 times as long", "1.2x faster".
SPEED_RATIO = re.compile(rf"{_NUMBER}\s*(?:x|×)(?=\)|\s*(?:faster|slower|speed))"
                         rf"|{_NUMBER} times (?:as long|as fast|faster|slower)")
# The memory address in an object's repr: <matplotlib.legend.Legend at 0x7f0c075dc450>
ADDRESS = re.compile(r"\bat 0x[0-9a-f]+")
# A table column that holds timings: its header names a time or a speed.
TIMING_HEADER = re.compile(r"second|\btime\b|\bwall\b|\(s\)|\(ms\)|\bms\b|/s\b|speed|throughput",
                           re.IGNORECASE)
MIME_COMPARED = ("text/plain", "text/html", "text/markdown", "text/latex", "image/png",
                 "image/svg+xml", "application/json")


@dataclass
class Difference:
    """One output that is not the same in the two runs."""

    cell: int
    cell_id: str
    what: str
    detail: str

    def __str__(self) -> str:
        return f"cell {self.cell} ({self.cell_id}), {self.what}:\n{self.detail}"


def mask_timings(text: str) -> str:
    """``text`` with every timing and speed ratio replaced by ``<time>``, and memory
    addresses of objects by ``<address>``."""
    text = ADDRESS.sub("at <address>", SPEED_RATIO.sub("<ratio>", text))
    return CLOCK.sub("<clock>", TIMING.sub("<time>", text))


class TableCells(HTMLParser):
    """The cells of HTML tables (pandas' ``to_html``), row by row, colspans expanded."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []  # (tag, text) per cell
        self.header_rows = 0
        self._cell: list[str] | None = None
        self._span, self._tag, self._in_head = 1, "", False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self.rows.append([])
            self.header_rows += self._in_head
        elif tag in ("th", "td"):
            self._cell, self._tag = [], tag
            self._span = int(dict(attrs).get("colspan") or 1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag in ("th", "td") and self._cell is not None and self.rows:
            self.rows[-1] += [(self._tag, "".join(self._cell).strip())] * self._span
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def mask_timing_columns(html: str) -> str:
    """An HTML table as text, with the cells of its timing columns replaced by ``<time>``."""
    table = TableCells()
    table.feed(html)
    if not table.rows:
        return mask_timings(html)
    timing = {i for row in table.rows[:table.header_rows] for i, (_, text) in enumerate(row)
              if TIMING_HEADER.search(text)}
    lines = []
    for number, row in enumerate(table.rows):
        body = number >= table.header_rows
        lines.append(" | ".join("<time>" if body and i in timing and tag == "td" else text
                                for i, (tag, text) in enumerate(row)))
    return mask_timings("\n".join(lines))


def output_items(output: NotebookNode) -> list[tuple[str, str]]:
    """``(kind, content)`` pairs of one output, timings masked; images as their bytes. A
    table is compared through its HTML, where the timing columns can be told apart."""
    if output.output_type == "stream":
        return [(f"stream {output.name}", mask_timings(output.text))]
    if output.output_type == "error":
        return [("error", f"{output.ename}: {output.evalue}")]
    items = []
    data = output.get("data", {})
    if "<table" in data.get("text/html", ""):
        return [("table", mask_timing_columns(data["text/html"]))]
    for mime in MIME_COMPARED:
        if mime in data:
            value = data[mime]
            if not isinstance(value, str):
                value = json.dumps(value, sort_keys=True)
            items.append((mime, value if mime == "image/png" else mask_timings(value)))
    return items


def cell_outputs(cell: NotebookNode) -> list[tuple[str, str]]:
    """Every compared item of a code cell's outputs, streams merged per name as Jupyter
    may split one print into several stream outputs."""
    merged: list[tuple[str, str]] = []
    for output in cell.get("outputs", []):
        for kind, content in output_items(output):
            if merged and kind.startswith("stream") and merged[-1][0] == kind:
                merged[-1] = (kind, merged[-1][1] + content)
            else:
                merged.append((kind, content))
    return merged


def compare(first: NotebookNode, second: NotebookNode) -> list[Difference]:
    """Every output of ``second`` that differs from ``first``'s (timings aside)."""
    if len(first.cells) != len(second.cells):
        counts = f"{len(first.cells)} != {len(second.cells)}"
        return [Difference(-1, "-", "number of cells", counts)]
    differences = []
    for index, (a, b) in enumerate(zip(first.cells, second.cells, strict=True)):
        if a.cell_type != "code" or TIMING_TAG in a.metadata.get("tags", []):
            continue
        items_a, items_b = cell_outputs(a), cell_outputs(b)
        cell_id = a.get("id", "?")
        kinds_a, kinds_b = [k for k, _ in items_a], [k for k, _ in items_b]
        if kinds_a != kinds_b:
            differences.append(Difference(index, cell_id, "kinds of output",
                                          f"{kinds_a} != {kinds_b}"))
            continue
        for (kind, x), (_, y) in zip(items_a, items_b, strict=True):
            if x != y:
                differences.append(Difference(index, cell_id, kind, describe(kind, x, y)))
    return differences


def describe(kind: str, x: str, y: str) -> str:
    """A short, readable account of how two outputs differ."""
    if kind.startswith("image/"):
        return f"    the figures differ ({len(x)} vs {len(y)} characters of base64)"
    diff = difflib.unified_diff(x.splitlines(), y.splitlines(), "first run", "second run",
                                lineterm="", n=0)
    lines = list(diff)
    shown = lines[:24] + ([f"... {len(lines) - 24} more lines"] if len(lines) > 24 else [])
    return "\n".join(f"    {line}" for line in shown)


def reproduce(slug: str, profile: str, threads: int | None = None,
              seed: int | None = None) -> tuple[list[Difference], list[str]]:
    """Execute ``slug`` twice and compare; returns the differences and any failure message."""
    from autograder.execute import execute

    pages = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in ("first", "second"):
            out = Path(tmp) / run
            outcome = execute(slug, profile, out, force=True, threads=threads, seed=seed)
            if outcome.status == "failed":
                return [], [f"{run} run failed: {outcome.message}"]
            pages.append(nbformat.read(out / f"{slug}.ipynb", as_version=4))
    return compare(*pages), []
