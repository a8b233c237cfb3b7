"""EfficientNet-Lite0 from the PyPI wheel: the facts DESIGN.md states, checked offline."""

from __future__ import annotations

import pytest
import skimage.data
import torch
from PIL import Image

from dlcourse import pretrained


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return pretrained.load_efficientnet_lite0()


def test_has_efficientnet_lite0_4_65_million_parameters(model):
    count = sum(p.numel() for p in model.parameters())
    assert count == 4_652_008 and round(count / 1e6, 2) == 4.65
    assert not model.training, "loaded in eval mode"


def test_is_coffee_an_espresso_with_p_about_0_86(model):
    top = pretrained.predict_topk(model, skimage.data.coffee(), k=3)
    assert (top[0].index, top[0].label) == (967, "espresso")
    assert top[0].probability == pytest.approx(0.86, abs=0.02)
    assert top[0].probability > top[1].probability > top[2].probability


def test_are_the_top_3_for_chelsea_the_cat_classes(model):
    top = pretrained.predict_topk(model, skimage.data.chelsea(), k=3)
    assert {p.index for p in top} == {285, 281, 282}  # Egyptian cat, tabby, tiger cat


def test_do_gradients_flow_to_the_input(model):
    x = pretrained.preprocess(skimage.data.chelsea()).requires_grad_(True)
    model(x)[0, 285].backward()
    assert x.grad is not None and x.grad.shape == (1, 3, 224, 224) and x.grad.abs().sum() > 0


def test_are_there_1000_imagenet_classes_in_index_order():
    names = pretrained.imagenet_classes()
    assert len(names) == 1000 and names[0] == "tench" and names[967] == "espresso"


def test_does_preprocess_give_the_same_batch_for_pil_arrays_and_tensors():
    array = skimage.data.coffee()
    batch = pretrained.preprocess(array)
    assert batch.shape == (1, 3, 224, 224)
    for other in (Image.fromarray(array), torch.from_numpy(array).permute(2, 0, 1), array / 255):
        assert torch.allclose(pretrained.preprocess(other), batch, atol=1e-2)
    assert pretrained.preprocess(skimage.data.camera()).shape == (1, 3, 224, 224), "grey to RGB"


def test_does_predict_topk_keep_the_training_mode(model):
    model.train()
    try:
        pretrained.predict_topk(model, skimage.data.coffee(), k=1)
        assert model.training
    finally:
        model.eval()


def test_does_a_new_head_keep_the_pretrained_body(model):
    transfer = pretrained.load_efficientnet_lite0(eval=False, num_classes=5)
    assert transfer.training and transfer._fc.out_features == 5
    assert torch.equal(transfer._conv_stem.weight, model._conv_stem.weight)
