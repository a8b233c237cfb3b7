"""Profiles and the run report every notebook prints."""

from __future__ import annotations

import pytest
import torch

from dlcourse import check_profile, pick, start_run


def test_does_pick_return_the_value_of_the_profile():
    assert pick("smoke", smoke=1, book=2, full=3) == 1
    assert pick("full", smoke=1, book=2, full=3) == 3


def test_is_an_unknown_profile_a_clear_error():
    with pytest.raises(ValueError, match="smoke, book, full"):
        check_profile("quick")


def test_does_start_run_seed_and_print_what_ran(capsys):
    run = start_run("smoke", seed=7, data="MNIST, 100 images", epochs=2)
    first = torch.rand(3)
    start_run("smoke", seed=7)
    assert torch.equal(first, torch.rand(3)), "same seed, same numbers"
    out = capsys.readouterr().out
    for text in ["profile", "smoke", "seed", "7", "MNIST, 100 images", "epochs", "device"]:
        assert text in out
    assert run.finish() >= 0 and "wall time" in capsys.readouterr().out
