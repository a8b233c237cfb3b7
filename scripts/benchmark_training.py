"""How close does the course's training loop come to the CPU's peak FLOP rate?

Trains the baseline CIFAR-10 network of a04-cnn-regularization with ``dlcourse.train.fit``
(batch 32, SGD with momentum, images preloaded in memory) and reports its training
images/second beside the GFLOP/s of a large fp32 matrix product measured in the same run.
The ratio achieved / peak uses the network's FLOPs per training image (forward and
backward), counted by ``torch.utils.flop_counter``. The stock setting (contiguous NCHW
tensors) runs too, so the gain of channels-last is measured, not assumed.

    python scripts/benchmark_training.py               # ~2 minutes on 2 cores
    python scripts/benchmark_training.py --images 4096 --repeats 3

Not a test: timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlcourse.data import TensorImages
from dlcourse.train import fit


def baseline_cnn() -> nn.Sequential:
    """The a04 baseline: three conv blocks (32-64, 128-128, 256-256) and a 1024-512-10 head."""
    def block(c_in: int, c_mid: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_mid, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c_mid, c_out, 3, padding=1), nn.ReLU(),
                nn.MaxPool2d(2), nn.BatchNorm2d(c_out)]

    return nn.Sequential(
        *block(3, 32, 64), *block(64, 128, 128), *block(128, 256, 256), nn.Flatten(),
        nn.Linear(256 * 4 * 4, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(),
        nn.Linear(512, 10),
    )


def matmul_gflops(n: int = 4096, repeats: int = 5) -> float:
    """Best GFLOP/s of ``repeats`` fp32 ``n x n`` matrix products (2 n^3 FLOPs each)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def flops_per_training_image(model: nn.Module, batch: int = 32) -> float:
    """FLOPs of one forward and backward pass, per image."""
    X, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        nn.functional.cross_entropy(model(X), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / batch


def synthetic_cifar(n: int) -> TensorImages:
    """Random uint8 images of CIFAR-10's shape: speed does not depend on the pixels."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=generator)
    targets = torch.randint(0, 10, (n,), generator=generator)
    return TensorImages(images, targets, transform=lambda x: x.float().div_(255))


def training_images_per_second(images: int, channels_last: bool, repeats: int) -> float:
    """Median images/second of ``repeats`` one-epoch runs of ``fit`` (after a warm-up)."""
    from dlcourse.data import make_loaders

    torch.manual_seed(0)
    model = baseline_cnn()
    loader, _ = make_loaders(synthetic_cifar(images), batch_size=32, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    run = dict(channels_last=channels_last, progress=False)
    warm_up, _ = make_loaders(synthetic_cifar(256), batch_size=32, seed=0)
    fit(model, warm_up, nn.CrossEntropyLoss(), optimizer, 1, **run)
    rates = []
    for _ in range(repeats):
        history = fit(model, loader, nn.CrossEntropyLoss(), optimizer, 1, **run)
        rates.append(images / history.seconds[-1])
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2048, help="images per timed epoch")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per setting")
    args = parser.parse_args()

    flops = flops_per_training_image(baseline_cnn())
    peak_before = matmul_gflops()
    results = {
        "stock (NCHW)": training_images_per_second(args.images, False, args.repeats),
        "course loop (channels-last)": training_images_per_second(args.images, True,
                                                                  args.repeats),
    }
    peak = max(peak_before, matmul_gflops())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} logical CPUs")
    print(f"baseline network: {flops / 1e9:.3f} GFLOP per training image (forward + backward)")
    print(f"peak: fp32 4096x4096 matmul, best of 5, before and after: {peak:.1f} GFLOP/s")
    print(f"{'setting':<30} {'img/s':>8} {'GFLOP/s':>9} {'ratio':>7}")
    for name, rate in results.items():
        achieved = rate * flops / 1e9
        print(f"{name:<30} {rate:8.1f} {achieved:9.1f} {achieved / peak:7.2f}")


if __name__ == "__main__":
    main()
