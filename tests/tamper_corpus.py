"""Adversarial submissions of a02, generated from its release (stub) or its solution.

Each entry says what it attacks and which notebook it starts from; the tests in
``test_tamper.py`` state the score each must get.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import nbformat
from nbformat import NotebookNode

from autograder.notebooks import nbgrader_meta

SLUG = "a02-conv-arithmetic"


def index_of(nb: NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)


def insert_after(nb: NotebookNode, grade_id: str, code: str) -> NotebookNode:
    """A copy with a new (student) code cell after the cell ``grade_id``."""
    nb = copy.deepcopy(nb)
    nb.cells.insert(index_of(nb, grade_id) + 1, nbformat.v4.new_code_cell(code))
    return nb


def answer(nb: NotebookNode, grade_id: str, code: str) -> NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells[index_of(nb, grade_id)].source = code
    return nb


def edited_test(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    return answer(stub, "tk_conv_output_size_tests", "pass")


def deleted_test(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    nb = copy.deepcopy(stub)
    del nb.cells[index_of(nb, "tk_conv_output_size_tests")]
    return nb


def duplicated_and_reordered(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    """An emptied copy of a test cell first, then the test cells in reverse order."""
    nb = answer(stub, "tk_conv_output_size_tests", "pass")
    fake = copy.deepcopy(nb.cells[index_of(nb, "tk_conv_output_size_tests")])
    fake["id"] = "fake-copy"
    tests = [c for c in nb.cells if nbgrader_meta(c).get("points")]
    others = [c for c in nb.cells if not nbgrader_meta(c).get("points")]
    nb.cells = [fake, *others, *reversed(tests)]
    return nb


def changed_metadata(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    """A test cell made ungraded, another renamed, a third worth 1000 points."""
    nb = copy.deepcopy(stub)
    nbgrader_meta(nb.cells[index_of(nb, "tk_conv_output_size_tests")])["grade"] = False
    nbgrader_meta(nb.cells[index_of(nb, "tk_params_tests")])["grade_id"] = "mine"
    meta = nbgrader_meta(nb.cells[index_of(nb, "tk_macs_tests")])
    meta.update(points=1000, solution=True, locked=False)
    return nb


def redefined_builtins(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    return insert_after(stub, "tk_conv_output_size", (
        "import builtins\n"
        "class Quiet(Exception):\n    pass\n"
        "builtins.AssertionError = Quiet\n"
        "builtins.all = builtins.any = lambda *a, **k: True\n"
        "builtins.isinstance = lambda *a: True\n"
        "def conv_output_size(*a, **k):\n    return 0\n"))


def patched_allclose(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    """Wrong answer, and torch.allclose/numpy.allclose/testing made to agree with anything."""
    return answer(stub, "q8_rank1", (
        "import numpy as np\nimport torch\n"
        "torch.allclose = lambda *a, **k: True\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "torch.testing.assert_close = lambda *a, **k: None\n"
        "def rank1_conv(x, a, b, c, d, bias=None):\n    return torch.zeros(1)\n"))


def replaced_reference(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    """The reference the test compares with (F.conv2d, torch.einsum) replaced."""
    return answer(stub, "q8_rank1", (
        "import torch\nimport torch.nn.functional as F\n"
        "F.conv2d = lambda *a, **k: torch.zeros(1)\n"
        "torch.einsum = lambda *a, **k: torch.zeros(1)\n"
        "def rank1_conv(x, a, b, c, d, bias=None):\n    return torch.zeros(1)\n"))


def disruptions(_: NotebookNode, solution: NotebookNode) -> NotebookNode:
    """The solution with cells of their own that call sys.exit(), raise
    KeyboardInterrupt, loop forever ignoring SIGINT, and kill the kernel (os._exit)."""
    nb = insert_after(solution, "tk_conv_output_size", "import sys\nsys.exit()")
    nb = insert_after(nb, "tk_counts", "raise KeyboardInterrupt")
    nb = insert_after(nb, "tk_receptive_field", (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"))
    return insert_after(nb, "q2_same_padding", "import os\nos._exit(0)")


def infinite_loop_in_answer(_: NotebookNode, solution: NotebookNode) -> NotebookNode:
    return answer(solution, "q2_same_padding",
                  "def same_padding(*args, **kwargs):\n    while True:\n        pass")


def memory_bomb(_: NotebookNode, solution: NotebookNode) -> NotebookNode:
    return insert_after(solution, "tk_conv_output_size", (
        "hog = []\nwhile True:\n    hog.append(bytearray(256 * 2**20))"))


def fork_bomb(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    return insert_after(stub, "tk_conv_output_size", (
        "import os, time\nfor _ in range(10_000):\n    try:\n        if os.fork() == 0:\n"
        "            time.sleep(3600)\n    except OSError as err:\n"
        "        print('fork refused after some children:', err)\n        break"))


def huge_output(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    return insert_after(stub, "tk_conv_output_size",
                        "for _ in range(200):\n    print('x' * 1_000_000)")


def copied_stub(stub: NotebookNode, _: NotebookNode) -> NotebookNode:
    return copy.deepcopy(stub)


def honest_solution(_: NotebookNode, solution: NotebookNode) -> NotebookNode:
    return copy.deepcopy(solution)


def probe(stub: NotebookNode, secrets: dict[str, str]) -> NotebookNode:
    """Tries to read secret files, write outside its folder and reach a local server;
    prints LEAK/WROTE/NET when something works."""
    code = (
        "import os, socket\n"
        f"for path in {secrets['read']!r}:\n"
        "    try:\n        open(path, 'rb').read(10)\n        print('LEAK', path)\n"
        "    except OSError as err:\n        print('refused', path, type(err).__name__)\n"
        f"for path in {secrets['write']!r}:\n"
        "    try:\n        open(path, 'w').write('x')\n        print('WROTE', path)\n"
        "    except OSError as err:\n        print('refused', path, type(err).__name__)\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {secrets['port']}), timeout=3)\n"
        "    print('NET open')\n"
        "except OSError as err:\n    print('refused network', type(err).__name__)\n"
        "print('done probing')\n")
    return insert_after(stub, "tk_conv_output_size", code)


CORPUS: dict[str, Callable[[NotebookNode, NotebookNode], NotebookNode]] = {
    f.__name__.replace("_", "-"): f for f in [
        edited_test, deleted_test, duplicated_and_reordered, changed_metadata,
        redefined_builtins, patched_allclose, replaced_reference, disruptions,
        infinite_loop_in_answer, memory_bomb,
        fork_bomb, huge_output, copied_stub, honest_solution,
    ]
}
