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


@pytest.fixture
def restore_determinism():
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


def test_does_seed_everything_switch_on_deterministic_kernels(restore_determinism):
    from dlcourse import seed_everything

    torch.use_deterministic_algorithms(False)
    seed_everything(3)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled(), "a GPU run must not stop"


class NumpyNoise(torch.utils.data.Dataset):
    """Each item draws from NumPy's global generator, as an augmentation library may."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> float:
        import numpy as np

        return float(np.random.rand())


def test_do_loader_workers_draw_the_same_numbers_run_after_run(restore_determinism):
    """Random augmentation in worker processes (NumPy's global generator) is the same run
    after run, and differs between the workers: each gets its own seed from the generator
    that seed_everything seeds."""
    from dlcourse import seed_everything
    from dlcourse.data import make_loaders

    def draws() -> list[float]:
        seed_everything(0)
        loader, _ = make_loaders(NumpyNoise(), batch_size=2, num_workers=2)
        return [x for batch in loader for x in batch.tolist()]

    first = draws()
    assert first == draws(), "same seed, same augmentation"
    assert len(set(first)) == len(first), "the two workers draw different numbers"


def test_does_glue_record_a_number_for_the_page(monkeypatch):
    import IPython.display

    from dlcourse import glue

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    assert glue("a00_accuracy", 0.9375) is None
    assert shown, "myst-nb's glue displays a record that the page's {glue:text} role reads"


def test_does_glue_record_plain_numbers_the_page_can_format():
    import numpy as np

    from dlcourse.profiles import plain_number

    assert repr(plain_number(np.float64(0.387))) == "0.387"
    assert repr(plain_number(torch.tensor(3))) == "3"
    assert plain_number("it stopped early") == "it stopped early"
