"""Small networks that several notebooks (or a notebook and a separate process) share.

Introduced in a06-init-normalization.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """A fully connected network: ``Linear`` layers of the given ``sizes`` with ``activation``
    after every layer but the last, which returns raw scores (logits).

    ``MLP([4, 5, 5, 5, 3], lambda: nn.LeakyReLU(0.2))`` has three hidden layers of 5 units.
    The layers are ``self.linears`` (so the state dict reads ``linears.0.weight``, ...) and
    the activation modules ``self.activations``; a subclass can add methods (for instance a
    hand-written backward pass) and still load the state dict of a plain ``MLP``.
    """

    def __init__(
        self, sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.ReLU
    ) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"an MLP needs an input and an output size, got sizes={sizes}")
        self.sizes = list(sizes)
        self.linears = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.activations = nn.ModuleList(activation() for _ in range(len(sizes) - 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for linear, activation in zip(self.linears[:-1], self.activations, strict=True):
            x = activation(linear(x))
        return self.linears[-1](x)
