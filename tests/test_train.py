"""The training loop: learning, metrics, early stopping, checkpoints and resuming."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlcourse.data import make_loaders
from dlcourse.profiles import seed_everything
from dlcourse.train import History, count_correct, evaluate, fit, predict


def blobs(n: int = 256, seed: int = 0, flip: bool = False) -> TensorDataset:
    """Two well-separated Gaussian blobs in 2-D; ``flip`` swaps the labels."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, 2, generator=generator) * 0.5 + (y[:, None] * 2 - 1) * 2.0
    return TensorDataset(X, 1 - y if flip else y)


def small_net() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))


def test_does_fit_learn_a_separable_problem(capsys):
    seed_everything(0)
    train_loader, test_loader = make_loaders(blobs(), blobs(seed=1), batch_size=32)
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, 5, test_loader=test_loader)
    assert len(history) == 5 and history.epoch == [1, 2, 3, 4, 5]
    assert history.test_accuracy[-1] >= 0.98 and history.train_loss[-1] < history.train_loss[0]
    assert history.lr == [0.1] * 5 and all(s > 0 for s in history.seconds)
    assert not model.training, "the model is left in eval mode"
    frame = history.to_frame()
    assert frame.index.name == "epoch" and list(frame.columns) == [
        "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "seconds"
    ]  # fmt: skip
    assert "epoch 5/5" in capsys.readouterr().err, "a progress bar per epoch"


def test_is_accuracy_none_when_the_task_is_regression():
    seed_everything(0)
    X = torch.randn(64, 3)
    loader = DataLoader(TensorDataset(X, X.sum(dim=1, keepdim=True)), batch_size=16)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    history = fit(model, loader, nn.MSELoss(), optimizer, 3, test_loader=loader, progress=False)
    assert history.train_accuracy == [None] * 3 and history.test_accuracy == [None] * 3
    assert history.test_loss[-1] < history.test_loss[0]
    assert evaluate(model, loader, nn.MSELoss()).accuracy is None


def test_is_binary_accuracy_counted_for_bce_with_logits():
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])
    targets = torch.tensor([[1.0], [0.0], [0.0], [0.0]])
    assert count_correct(logits, targets, nn.BCEWithLogitsLoss()) == 3
    assert count_correct(logits.sigmoid(), targets, nn.BCELoss()) == 3
    pixels = torch.zeros(2, 3, 4, 4)
    pixels[:, 1] = 1.0  # every pixel predicted as class 1
    labels = torch.ones(2, 4, 4, dtype=torch.int64)
    labels[0, 0, 0] = 2
    assert count_correct(pixels, labels, nn.CrossEntropyLoss()) == 31, "per-pixel accuracy"


def test_does_evaluate_report_the_mean_loss_and_accuracy():
    dataset = blobs(50)
    model = small_net().eval()
    loader = DataLoader(dataset, batch_size=7)
    loss, accuracy = evaluate(model, loader, nn.CrossEntropyLoss())
    with torch.no_grad():
        outputs = model(dataset.tensors[0])
    expected = nn.functional.cross_entropy(outputs, dataset.tensors[1]).item()
    assert loss == pytest.approx(expected, rel=1e-5)
    assert accuracy == pytest.approx((outputs.argmax(1) == dataset.tensors[1]).float().mean())
    y_true, y_pred = predict(model, loader)
    assert torch.equal(y_true, dataset.tensors[1]) and torch.equal(y_pred, outputs.argmax(1))


def test_does_early_stopping_stop_and_restore_the_best_weights():
    seed_everything(0)
    # The test labels are the training labels swapped: the better the fit, the worse the test.
    train_loader, test_loader = make_loaders(blobs(), blobs(seed=1, flip=True), batch_size=32)
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model, train_loader, nn.CrossEntropyLoss(), optimizer, 30,
        test_loader=test_loader, early_stopping_patience=2, progress=False,
    )  # fmt: skip
    assert history.stopped_early and len(history) == history.best_epoch + 2 < 30
    best = min(history.test_loss)
    assert history.test_loss[history.best_epoch - 1] == best
    assert evaluate(model, test_loader, nn.CrossEntropyLoss()).loss == pytest.approx(best)


def test_does_early_stopping_without_a_test_loader_fail_clearly():
    model = small_net()
    loader = DataLoader(blobs(), batch_size=32)
    with pytest.raises(ValueError, match="test_loader"):
        fit(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            2, early_stopping_patience=1)  # fmt: skip


class Interrupted(Exception):
    pass


def run(checkpoint=None, resume=False, fail_after_batches=None, seeded_loader=False):
    """Seeded training with shuffling, dropout, a scheduler and early stopping."""
    seed_everything(0)
    train_loader, test_loader = make_loaders(
        blobs(), blobs(seed=1), batch_size=32, seed=7 if seeded_loader else None
    )
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    calls = {"n": 0}

    def loss_fn(outputs, targets):
        if model.training:
            calls["n"] += 1
            if fail_after_batches is not None and calls["n"] > fail_after_batches:
                raise Interrupted
        return nn.functional.cross_entropy(outputs, targets)

    history = fit(
        model, train_loader, loss_fn, optimizer, 5, test_loader=test_loader,
        scheduler=scheduler, early_stopping_patience=3, checkpoint_path=checkpoint,
        resume=resume, progress=False,
    )  # fmt: skip
    return history, model


@pytest.mark.parametrize("seeded_loader", [False, True], ids=["global-rng", "loader-generator"])
def test_does_a_resumed_run_end_with_the_uninterrupted_history(tmp_path, seeded_loader):
    reference, reference_model = run(seeded_loader=seeded_loader)
    checkpoint = tmp_path / "run.pt"
    with pytest.raises(Interrupted):  # dies in the middle of epoch 3 (8 batches per epoch)
        run(checkpoint, fail_after_batches=2 * 8 + 3, seeded_loader=seeded_loader)
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 2
    resumed, resumed_model = run(checkpoint, resume=True, seeded_loader=seeded_loader)

    def without_times(history: History) -> dict:
        values = history.to_dict()
        values.pop("seconds")
        return values

    assert without_times(resumed) == without_times(reference)
    assert resumed.lr == [0.1, 0.1, 0.05, 0.05, 0.025], "the scheduler resumed too"
    for a, b in zip(resumed_model.parameters(), reference_model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_does_resume_without_a_checkpoint_start_at_epoch_1(tmp_path):
    history, _ = run(tmp_path / "none-yet.pt", resume=True)
    assert history.epoch[0] == 1 and (tmp_path / "none-yet.pt").is_file()


def test_penalty_is_minimised_but_not_recorded():
    """A penalty changes the weights fit finds, while the recorded loss stays the data loss."""
    X, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    loader = DataLoader(TensorDataset(X, y), batch_size=16)

    def trained(penalty):
        torch.manual_seed(0)
        model = nn.Linear(4, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        history = fit(model, loader, nn.CrossEntropyLoss(), opt, 3, penalty=penalty,
                      progress=False)
        return model, history

    plain, _ = trained(None)
    shrunk, history = trained(lambda m: 1.0 * m.weight.pow(2).sum())
    assert shrunk.weight.norm() < 0.5 * plain.weight.norm()
    data_loss = sum(nn.functional.cross_entropy(shrunk(X[i:i + 16]), y[i:i + 16]).item()
                    for i in range(0, 64, 16)) / 4
    assert history.train_loss[-1] < data_loss + 1.0  # no penalty of ~|w|^2 in the record


def test_early_stopping_watches_the_validation_set():
    """With val_loader, the best epoch is the one with the lowest validation loss."""
    torch.manual_seed(0)
    X, y = torch.randn(64, 10), torch.randint(0, 2, (64,))
    train = DataLoader(TensorDataset(X[:32], y[:32]), batch_size=8)
    val = DataLoader(TensorDataset(X[32:48], y[32:48]), batch_size=8)
    test = DataLoader(TensorDataset(X[48:], y[48:]), batch_size=8)
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))
    history = fit(model, train, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 0.05),
                  40, test_loader=test, val_loader=val, early_stopping_patience=3,
                  progress=False)
    assert history.stopped_early
    assert history.val_loss[history.best_epoch - 1] == min(history.val_loss)
    assert all(v is not None for v in history.test_loss)


def test_channels_last_gives_the_same_training():
    """channels-last changes the memory layout, not the numbers."""
    X, y = torch.randn(32, 3, 8, 8), torch.randint(0, 3, (32,))
    loader = DataLoader(TensorDataset(X, y), batch_size=8)
    losses = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3))
        history = fit(model, loader, nn.CrossEntropyLoss(),
                      torch.optim.SGD(model.parameters(), lr=0.1), 2,
                      channels_last=channels_last, progress=False)
        losses.append(history.train_loss)
        assert model[0].weight.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert np.allclose(losses[0], losses[1], rtol=1e-4)


def test_does_full_batch_training_with_given_gradients_match_autograd():
    from dlcourse.data import load_iris, split_table
    from dlcourse.models import MLP
    from dlcourse.train import train_full_batch

    data = split_table(load_iris(), 0.2, seed=0)

    def run(gradients_of=None, epochs=30, history=None, model=None):
        if model is None:
            torch.manual_seed(0)
            model = MLP([4, 8, 3], nn.Tanh)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        gradients = gradients_of(model) if gradients_of else None
        return model, train_full_batch(model, optimizer, data, epochs, gradients=gradients,
                                       history=history, progress=False)

    def autograd_gradients(model):
        def gradients(X, y):
            loss = nn.functional.cross_entropy(model(X), y)
            names, params = zip(*model.named_parameters(), strict=True)
            return loss, dict(zip(names, torch.autograd.grad(loss, params), strict=True))
        return gradients

    _, plain = run()
    _, given = run(autograd_gradients)
    assert len(plain) == 30 and plain.epoch[-1] == 30
    assert plain.train_loss[-1] < plain.train_loss[0] and plain.test_accuracy[-1] > 0.7
    assert np.allclose(plain.train_loss, given.train_loss, atol=1e-6)
    assert plain.test_accuracy == given.test_accuracy

    def zero_gradients(model):
        def gradients(X, y):
            return torch.tensor(0.0), {n: torch.zeros_like(p) for n, p in model.named_parameters()}
        return gradients

    _, frozen = run(zero_gradients, epochs=5)
    assert len(set(frozen.test_loss)) == 1, "zero gradients leave the weights unchanged"


def test_does_full_batch_training_continue_a_history():
    from dlcourse.data import load_iris, split_table
    from dlcourse.models import MLP
    from dlcourse.train import train_full_batch

    data = split_table(load_iris(), 0.2, seed=0)
    torch.manual_seed(0)
    model = MLP([4, 8, 3])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = train_full_batch(model, optimizer, data, 10, progress=False)
    history = train_full_batch(model, optimizer, data, 25, history=history, progress=False)
    assert history.epoch == list(range(1, 26)) and len(history.test_loss) == 25
