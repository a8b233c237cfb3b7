"""Plots: titles and axis labels everywhere, Figures returned, headless (Agg)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from dlcourse import plots
from dlcourse.train import History


@pytest.fixture(autouse=True)
def headless(monkeypatch):
    """Agg backend, a plt.show() that fails the test, and no figures left open."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def no_show(*args, **kwargs):
        raise AssertionError("helpers must not call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")


def history(accuracy: bool = True, best_epoch: int | None = None) -> History:
    acc = [0.5, 0.7, 0.8] if accuracy else [None] * 3
    return History(
        epoch=[1, 2, 3], train_loss=[1.0, 0.6, 0.4], train_accuracy=acc,
        test_loss=[1.1, 0.7, 0.6], test_accuracy=acc, lr=[0.1] * 3, seconds=[1.0] * 3,
        best_epoch=best_epoch,
    )  # fmt: skip


def test_do_learning_curves_have_titles_and_labelled_axes():
    fig = plots.plot_learning_curves(history(best_epoch=3), title="Run A")
    assert fig.get_suptitle() == "Run A"
    loss_ax, acc_ax = fig.axes
    for ax, ylabel in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        assert ax.get_title() and ax.get_xlabel() == "epoch" and ax.get_ylabel() == ylabel
    labels = [
        line.get_label() for line in loss_ax.get_lines() if not line.get_label().startswith("_")
    ]
    assert labels == ["train", "test"]


def test_does_a_dict_of_histories_draw_one_colour_per_run():
    fig = plots.plot_learning_curves({"SGD": history(), "Adam": history(accuracy=False)})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["SGD: train", "SGD: test", "Adam: train", "Adam: test"]
    only_loss = plots.plot_learning_curves(history(accuracy=False), loss_label="MSE (m²)")
    assert len(only_loss.axes) == 1 and only_loss.axes[0].get_ylabel() == "MSE (m²)"


def test_does_the_image_grid_caption_each_image_with_its_class_name():
    images = torch.randn(10, 1, 28, 28)  # normalised values outside [0, 1] are fine
    names = [f"class {i}" for i in range(10)]
    predictions = torch.arange(10)
    predictions[9] = 0
    fig = plots.show_image_grid(
        images, torch.arange(10), names, ncols=5, title="Samples", predictions=predictions
    )
    assert fig.get_suptitle() == "Samples" and len(fig.axes) == 10
    assert fig.axes[1].get_title() == "class 1\npred: class 1"
    assert fig.axes[9].title.get_color() == "red", "a wrong prediction is red"
    grid = plots.show_image_grid([np.zeros((8, 8, 3), dtype=np.uint8)] * 3, ncols=8)
    assert len(grid.axes) == 3


def test_does_the_confusion_matrix_count_and_normalise_by_row():
    y_true, y_pred = [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]
    fig = plots.plot_confusion_matrix(y_true, y_pred, ["cat", "dog", "bird"])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert "counts" in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "bird"]
    image = ax.images[0].get_array()
    assert image.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    normalised = plots.plot_confusion_matrix(
        torch.tensor(y_true), torch.tensor(y_pred), ["cat", "dog", "bird"], normalize="true"
    )
    rows = normalised.axes[0].images[0].get_array()
    assert np.allclose(rows.sum(axis=1), 1.0) and "share" in normalised.axes[0].get_title()


def test_does_overlay_heatmaps_resize_each_map_onto_its_image():
    images = torch.rand(3, 1, 28, 28)
    maps = torch.zeros(3, 7, 7)
    maps[:, 0, 0] = 1.0  # hot in the top-left corner
    fig = plots.overlay_heatmaps(images, maps, ["a", "b", "c"], ncols=2, title="Grad-CAM")
    assert fig.get_suptitle() == "Grad-CAM"
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == ["a", "b", "c"]
    overlay = shown[0].images[1].get_array()
    assert overlay.shape == (28, 28) and overlay[0, 0] == 1.0 and overlay[-1, -1] == 0.0
    with pytest.raises(ValueError, match="2 heat maps"):
        plots.overlay_heatmaps(images, maps[:2])
