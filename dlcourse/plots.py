"""Plots every assignment needs: learning curves, image grids, confusion matrices.

Each function returns the matplotlib ``Figure`` (its axes are ``fig.axes``), gives every
figure a title and its axes labels, and never calls ``plt.show()``. In a notebook the
figure appears when the cell ends; write ``fig = plot_...(...)`` (or end the line with
``;``) so that Jupyter does not show it twice.

Introduced in a02-conv-arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dlcourse.train import History


def plot_learning_curves(
    history: History | Mapping[str, History],
    *,
    title: str = "Learning curves",
    loss_label: str = "loss",
) -> Figure:
    """Loss (and accuracy, when recorded) per epoch: train solid, validation dash-dotted
    (when recorded), test dashed.

    ``history`` is one :class:`~dlcourse.train.History` or a dict ``{run name: History}``
    to compare runs (one colour per run). A dotted line marks the best epoch of early
    stopping. ``loss_label`` names the loss on the y axis, e.g. ``"cross-entropy"``.
    Introduced in a02-conv-arithmetic.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    runs = dict(history) if isinstance(history, Mapping) else {"": history}
    has_accuracy = any(
        a is not None
        for h in runs.values()
        for a in [*h.train_accuracy, *h.val_accuracy, *h.test_accuracy]
    )
    ncols = 2 if has_accuracy else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 4), squeeze=False)
    panels = [("loss", loss_label, axes[0, 0])]
    if has_accuracy:
        panels.append(("accuracy", "accuracy", axes[0, 1]))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, h) in enumerate(runs.items()):
        color = colors[i % len(colors)]
        prefix = f"{name}: " if name else ""
        for metric, _, ax in panels:
            for split, style in (("train", "-"), ("validation", "-."), ("test", "--")):
                values = getattr(h, f"{split.removesuffix('idation')}_{metric}")
                if len(values) != len(h.epoch):  # not recorded (e.g. no validation set)
                    continue
                points = [(e, v) for e, v in zip(h.epoch, values, strict=True) if v is not None]
                if points:
                    x, y = zip(*points, strict=True)
                    ax.plot(x, y, style, color=color, marker=".", label=f"{prefix}{split}")
            if h.best_epoch is not None:
                ax.axvline(h.best_epoch, color=color, linestyle=":", linewidth=1)
    for metric, ylabel, ax in panels:
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
        if metric == "accuracy":
            ax.set_ylim(top=1.0)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _to_numpy_image(image: Any) -> np.ndarray:
    """(H, W) or (H, W, 3) array in [0, 1] from a tensor (C, H, W), an array or a PIL image."""
    if isinstance(image, torch.Tensor):
        array = image.detach().cpu().numpy()
        if array.ndim == 3:
            array = np.moveaxis(array, 0, -1)  # (C, H, W) -> (H, W, C)
    else:
        array = np.asarray(image)
    if array.dtype == np.uint8:
        array = array / 255.0
    array = array.astype(np.float32)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:  # normalised data: stretch to [0, 1] for display
        array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    return array


def show_image_grid(
    images: Any,
    labels: Sequence[Any] | torch.Tensor | None = None,
    class_names: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    title: str = "Images",
    predictions: Sequence[Any] | torch.Tensor | None = None,
    cmap: str = "gray",
) -> Figure:
    """A grid of images with their labels (and predictions, red when wrong) above each.

    ``images``: a batch tensor (N, C, H, W) or (N, H, W), or a list of tensors, arrays
    or PIL images. Values outside [0, 1] (normalised data) are stretched per image for
    display. ``class_names`` turns integer labels into names. Introduced in a02-conv-arithmetic.
    """
    import matplotlib.pyplot as plt

    images = list(images)
    n = len(images)
    if n == 0:
        raise ValueError("no images to show")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    row_height = 1.7 + 0.25 * ((labels is not None) + (predictions is not None))
    figsize = (1.6 * ncols, row_height * nrows + 0.5)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)

    def name(value: Any) -> str:
        value = value.item() if isinstance(value, torch.Tensor | np.ndarray) else value
        if class_names is not None and isinstance(value, int | np.integer):
            return str(class_names[int(value)])
        return str(value)

    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(_to_numpy_image(images[i]), cmap=cmap, vmin=0.0, vmax=1.0)
        caption, color = "", "black"
        if labels is not None:
            caption = name(labels[i])
        if predictions is not None:
            predicted = name(predictions[i])
            caption = f"{caption}\npred: {predicted}" if caption else f"pred: {predicted}"
            if labels is not None and predicted != name(labels[i]):
                color = "red"
        if caption:
            ax.set_title(caption, fontsize=8, color=color)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    class_names: Sequence[str],
    *,
    normalize: str | None = None,
    title: str | None = None,
    ax: Any = None,
) -> Figure:
    """Confusion matrix: rows true class, columns predicted class, counts in the cells.

    ``normalize``: None (counts), ``"true"`` (each row sums to 1: recall per class),
    ``"pred"`` (each column sums to 1: precision) or ``"all"``. Draws into ``ax`` if given.
    Introduced in a02-conv-arithmetic.
    """
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    y_true = y_true.cpu().numpy() if isinstance(y_true, torch.Tensor) else np.asarray(y_true)
    y_pred = y_pred.cpu().numpy() if isinstance(y_pred, torch.Tensor) else np.asarray(y_pred)
    matrix = confusion_matrix(
        y_true, y_pred, labels=np.arange(len(class_names)), normalize=normalize
    )
    if ax is None:
        size = max(4.0, 0.55 * len(class_names) + 2.0)
        _, ax = plt.subplots(figsize=(size + 1.0, size))
    display = ConfusionMatrixDisplay(matrix, display_labels=list(class_names))
    display.plot(
        ax=ax,
        cmap="Blues",
        values_format=".2f" if normalize else "d",
        xticks_rotation=45 if len(class_names) > 4 else "horizontal",
        colorbar=True,
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    shares = {"true": "share of each true class", "pred": "share of each prediction"}
    default = "Confusion matrix" + (
        f" ({shares.get(normalize, 'share of all samples')})" if normalize else " (counts)"
    )
    ax.set_title(title or default)
    ax.figure.tight_layout()
    return ax.figure


def _resize_map(heatmap: Any, shape: tuple[int, int]) -> np.ndarray:
    """A 2-D map as an array of ``shape``, bilinearly resized, scaled to [0, 1]."""
    tensor = torch.as_tensor(np.asarray(heatmap, dtype=np.float32))
    if tensor.ndim != 2:
        raise ValueError(f"a heat map must be 2-D (h, w), got shape {tuple(tensor.shape)}")
    resized = torch.nn.functional.interpolate(
        tensor[None, None], size=shape, mode="bilinear", align_corners=False
    )[0, 0].numpy()
    low, high = float(resized.min()), float(resized.max())
    return (resized - low) / (high - low) if high > low else np.zeros_like(resized)


def overlay_heatmaps(
    images: Any,
    heatmaps: Any,
    captions: Sequence[str] | None = None,
    *,
    ncols: int = 5,
    title: str = "Heat maps",
    alpha: float = 0.5,
    cmap: str = "jet",
) -> Figure:
    """Each image with its heat map laid over it (e.g. Grad-CAM), one panel per image.

    ``images``: a batch (N, C, H, W) or (N, H, W), or a list of tensors, arrays or PIL
    images (shown as :func:`show_image_grid` shows them). ``heatmaps``: one 2-D map per
    image, of any size: each is resized to its image bilinearly and scaled to [0, 1] for
    display (so only where a map is high matters, not its units). ``captions`` go above
    the panels. Introduced in a09-explainability-robustness.
    """
    import matplotlib.pyplot as plt

    images, heatmaps = list(images), list(heatmaps)
    if len(images) != len(heatmaps):
        raise ValueError(f"{len(images)} images but {len(heatmaps)} heat maps")
    if not images:
        raise ValueError("no images to show")
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.0 * ncols, 2.2 * nrows + 0.5),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        picture = _to_numpy_image(images[i])
        ax.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0)
        ax.imshow(_resize_map(heatmaps[i], picture.shape[:2]), cmap=cmap, alpha=alpha,
                  vmin=0.0, vmax=1.0)
        if captions is not None:
            ax.set_title(captions[i], fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
