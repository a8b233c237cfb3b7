"""Shared fixtures: the course pipeline's (defined in course_fixtures.py) and the data roots.

Data roots: the offline mirror as DLCOURSE_DATA and a throw-away DLCOURSE_CACHE.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Session fixtures of the course pipeline (smoke-executed pages, a graded course).
from course_fixtures import graded_course, smoke_pages, smoke_pages_again  # noqa: F401

# The mirror sits next to the repository: <workspace>/shared/datasets.
DEFAULT_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(scope="session")
def mirror_path() -> Path | None:
    """$DLCOURSE_DATA if it is a folder, else the default mirror if it exists, else None."""
    for candidate in (os.environ.get("DLCOURSE_DATA"), DEFAULT_MIRROR):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def dlcourse_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One writable cache for the whole session, so MNIST is unpacked only once."""
    return tmp_path_factory.mktemp("dlcourse-cache")


@pytest.fixture(scope="module")
def mirror(mirror_path: Path | None, dlcourse_cache: Path) -> Iterator[Path]:
    """The mirror as DLCOURSE_DATA, the temporary cache and DLCOURSE_OFFLINE=1 for a module."""
    root = mirror_path
    if root is None:
        pytest.skip(
            f"no data mirror: DLCOURSE_DATA is unset or not a folder, and {DEFAULT_MIRROR} "
            "does not exist"
        )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLCOURSE_DATA", str(root))
        mp.setenv("DLCOURSE_CACHE", str(dlcourse_cache))
        mp.setenv("DLCOURSE_OFFLINE", "1")
        yield root


@pytest.fixture
def empty_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty DLCOURSE_DATA and an empty cache, offline: every dataset is missing."""
    root = tmp_path / "empty-data-root"
    root.mkdir()
    monkeypatch.setenv("DLCOURSE_DATA", str(root))
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    return root
