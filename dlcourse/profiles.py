"""Execution profiles and the run report every notebook prints.

Each assignment notebook has one papermill ``parameters`` cell with ``PROFILE = "book"``
and derives all of its sizes from it with :func:`pick`:

- ``smoke``: seconds per notebook, tiny subsets; tests, CI and the autograder use it.
- ``book``: what the published site shows; minutes on a 2-core CPU with real data.
- ``full``: the assignment as specified (full data, all epochs); a GPU is recommended.

Introduced in a02-conv-arithmetic.
"""

from __future__ import annotations

import os
import platform
import random
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch

PROFILES: tuple[str, ...] = ("smoke", "book", "full")

T = TypeVar("T")


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is a known profile, else raise a ValueError that lists them."""
    if profile not in PROFILES:
        raise ValueError(
            f"Unknown profile {profile!r}. Choose one of {', '.join(PROFILES)} "
            "(set it in the notebook's parameters cell, or with papermill -p PROFILE ...)."
        )
    return profile


def pick(profile: str, *, smoke: T, book: T, full: T) -> T:
    """Return the value that belongs to ``profile``: ``pick(PROFILE, smoke=1, book=5, full=30)``."""
    return {"smoke": smoke, "book": book, "full": full}[check_profile(profile)]


def seed_everything(seed: int) -> None:
    """Make what follows reproducible: the same seed and thread count give the same numbers.

    Seeds Python's ``random``, NumPy's global generator and PyTorch (CPU and every GPU),
    and makes PyTorch choose deterministic kernels (``torch.use_deterministic_algorithms``;
    an operation that has none warns instead of failing, so a GPU run still completes).
    DataLoader workers need nothing more: torch seeds ``random``, NumPy and torch in each
    worker from the loader's generator, which this seeds. Called by
    :func:`start_run`; call it again before each experiment that must start from the same
    weights and batch order. Introduced in a02-conv-arithmetic.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # cuBLAS needs this workspace setting to be deterministic; harmless on the CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def is_deterministic() -> bool:
    """Are PyTorch's deterministic kernels switched on (by :func:`seed_everything`)?"""
    return torch.are_deterministic_algorithms_enabled()


def default_device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Run:
    """What a notebook ran: printed at the start and, with the wall time, at the end."""

    profile: str
    seed: int
    facts: dict[str, Any] = field(default_factory=dict)
    device: torch.device = field(default_factory=default_device)
    started: float = field(default_factory=time.perf_counter)

    def describe(self) -> str:
        """A small table of the run's settings."""
        rows = {
            "profile": self.profile,
            "seed": self.seed,
            "device": str(self.device),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "cpu threads": torch.get_num_threads(),
            "deterministic kernels": is_deterministic(),
            **self.facts,
        }
        width = max(len(k) for k in rows)
        return "\n".join(f"{k:<{width}} : {v}" for k, v in rows.items())

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.started

    def finish(self) -> float:
        """Print and return the wall time of the run."""
        seconds = self.elapsed()
        print(f"profile {self.profile!r}: finished in {seconds:.1f} s wall time")
        return seconds


def start_run(profile: str, seed: int = 0, **facts: Any) -> Run:
    """Check the profile, seed every generator, print the run's settings and return a Run.

    ``facts`` are extra lines for the report, e.g. ``data="MNIST, 2000 train images"``
    or ``epochs=5``.
    """
    run = Run(profile=check_profile(profile), seed=seed, facts=dict(facts))
    seed_everything(seed)
    if os.environ.get("DLCOURSE_QUIET") != "1":
        print(run.describe())
    return run


def glue(name: str, value: Any, display: bool = False) -> None:
    """Make a number of this run quotable in the page's prose.

    On the site, ``{glue:text}`name:.3f``` in a Markdown answer shows the value this run
    computed (myst-nb's ``glue``), so the text cannot disagree with the output after a
    re-run. Without myst-nb (a student's Jupyter) it does nothing. Returns None, so a
    ``glue(...)`` on a cell's last line prints nothing. Introduced in a01-backprop-optimizers.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, plain_number(value), display=display)


def plain_number(value: Any) -> Any:
    """A NumPy scalar or one-element tensor as a Python number (whose text is ``0.387``, not
    ``np.float64(0.387)``, so the page can format it); anything else unchanged."""
    if isinstance(value, (np.generic, torch.Tensor)) and value.ndim == 0:
        return value.item()
    return value
