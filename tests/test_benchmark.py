"""The training benchmark script runs and measures what it says (not its speed)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from autograder.paths import REPO


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location(
        "benchmark_training", REPO / "scripts" / "benchmark_training.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_baseline_network_matches_a04(benchmark):
    """The benchmark trains a04's baseline: 5,852,234 parameters, logits of shape (N, 10)."""
    model = benchmark.baseline_cnn()
    assert sum(p.numel() for p in model.parameters()) == 5_852_234
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_flops_per_image_counts_forward_and_backward(benchmark):
    """About 3x the forward FLOPs (backward computes two products per layer, but not the
    input gradient of the first convolution)."""
    model = benchmark.baseline_cnn()
    forward_macs = sum(
        m.weight.numel() * hw for m, hw in zip(
            [m for m in model if isinstance(m, torch.nn.Conv2d)],
            [32 * 32, 32 * 32, 16 * 16, 16 * 16, 8 * 8, 8 * 8], strict=True)
    ) + sum(m.weight.numel() for m in model if isinstance(m, torch.nn.Linear))
    ratio = benchmark.flops_per_training_image(model) / (2 * forward_macs)
    assert 2.9 < ratio < 3.0


def test_measurements_are_positive(benchmark):
    assert benchmark.matmul_gflops(256, repeats=2) > 0
    assert benchmark.training_images_per_second(64, channels_last=True, repeats=1) > 0
