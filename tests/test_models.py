"""The shared small networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse.models import MLP


def test_does_the_mlp_put_an_activation_between_layers_but_not_after_the_last():
    torch.manual_seed(0)
    net = MLP([4, 5, 5, 3], lambda: nn.LeakyReLU(0.2))
    assert [tuple(layer.weight.shape) for layer in net.linears] == [(5, 4), (5, 5), (3, 5)]
    assert len(net.activations) == 2 and list(net.state_dict())[0] == "linears.0.weight"
    x = torch.randn(7, 4)
    by_hand = net.linears[2](nn.functional.leaky_relu(
        net.linears[1](nn.functional.leaky_relu(net.linears[0](x), 0.2)), 0.2))
    assert torch.allclose(net(x), by_hand)
    assert (net(-100 * torch.ones(1, 4)) != 0).any(), "no activation clips the logits"


def test_does_the_mlp_refuse_a_size_list_without_layers():
    with pytest.raises(ValueError, match="input and an output"):
        MLP([4])
