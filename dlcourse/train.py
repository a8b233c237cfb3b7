"""The training loop of the course: progress bars, per-epoch history, early stopping, checkpoints.

A notebook writes ``history = fit(model, train_loader, loss_fn, optimizer, num_epochs,
test_loader=test_loader)`` and plots ``history`` with :func:`dlcourse.plots.plot_learning_curves`.
Batches are ``(X, y)`` pairs. Accuracy is reported when the task is classification
(integer targets with one output per class, or a ``BCEWithLogitsLoss``/``BCELoss``);
otherwise it is ``None``.

Introduced in a02-conv-arithmetic.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn


@dataclass
class History:
    """What happened in each epoch of :func:`fit`; one list entry per epoch.

    ``test_*`` are None without a test loader, ``val_*`` without a validation loader,
    and ``*_accuracy`` are None when the task is not classification. ``lr`` is the
    learning rate used during the epoch and ``seconds`` its wall time (training and
    evaluation). ``best_epoch`` is the epoch with the lowest validation loss, or test loss
    without validation (when early stopping is on) and ``stopped_early`` says whether
    training stopped before ``num_epochs``. Introduced in a02-conv-arithmetic; ``val_*``
    in a04-cnn-regularization.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    test_loss: list[float | None] = field(default_factory=list)
    test_accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def __len__(self) -> int:
        return len(self.epoch)

    def to_frame(self) -> Any:
        """A pandas DataFrame with one row per epoch, indexed by epoch (validation columns
        only when a validation set was evaluated)."""
        import pandas as pd

        columns = {k: v for k, v in asdict(self).items() if isinstance(v, list)}
        if all(v is None for v in self.val_loss):
            del columns["val_loss"], columns["val_accuracy"]
        return pd.DataFrame(columns).set_index("epoch")

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers (what a checkpoint stores)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict`."""
        return cls(**values)


class Evaluation(NamedTuple):
    """Mean loss over a loader and accuracy (None when not classification)."""

    loss: float
    accuracy: float | None


def count_correct(outputs: torch.Tensor, targets: torch.Tensor, loss_fn: Any) -> int | None:
    """Correct predictions in a batch, or None when accuracy does not apply.

    Multi-class: integer targets and outputs with a class dimension 1 (also per pixel).
    Binary: ``BCEWithLogitsLoss`` (logit > 0) or ``BCELoss`` (probability > 0.5).
    Introduced in a02-conv-arithmetic.
    """
    if isinstance(loss_fn, nn.BCEWithLogitsLoss | nn.BCELoss):
        threshold = 0.0 if isinstance(loss_fn, nn.BCEWithLogitsLoss) else 0.5
        predicted = outputs > threshold
        return int((predicted == (targets > 0.5)).sum().item())
    integer = not (targets.is_floating_point() or targets.is_complex())
    if (
        integer
        and outputs.ndim >= 2
        and outputs.shape[1] > 1
        and targets.shape == outputs.shape[:1] + outputs.shape[2:]
    ):
        return int((outputs.argmax(dim=1) == targets).sum().item())
    return None


def uses_channels_last(model: nn.Module) -> bool:
    """Whether :func:`fit` trains ``model`` in channels-last memory format: when it has 2-D
    convolutions, which oneDNN runs faster on CPU in that layout
    (``scripts/benchmark_training.py`` measures by how much).

    Introduced in a04-cnn-regularization.
    """
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def _batch_to(
    batch: Any, device: torch.device, channels_last: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = batch[0], batch[1]
    X = X.to(device, non_blocking=True)
    if channels_last and X.ndim == 4:
        X = X.contiguous(memory_format=torch.channels_last)
    return X, y.to(device, non_blocking=True)


def _device_of(model: nn.Module, device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    device: torch.device | str | None = None,
) -> Evaluation:
    """Mean loss (per sample) and accuracy of ``model`` on ``loader``, in eval mode, no grad.

    ``device`` defaults to where the model's parameters are. Introduced in a02-conv-arithmetic.
    """
    device = _device_of(model, device)
    channels_last = uses_channels_last(model)
    model.eval()
    total_loss, n_samples, correct, n_targets = 0.0, 0, 0, 0
    with torch.no_grad():
        for batch in loader:
            X, y = _batch_to(batch, device, channels_last)
            outputs = model(X)
            total_loss += loss_fn(outputs, y).item() * len(X)
            n_samples += len(X)
            batch_correct = count_correct(outputs, y, loss_fn)
            if batch_correct is None:
                correct = None
            elif correct is not None:
                correct += batch_correct
                n_targets += y.numel()
    if n_samples == 0:
        raise ValueError("the loader is empty")
    return Evaluation(total_loss / n_samples, None if correct is None else correct / n_targets)


def predict(
    model: nn.Module, loader: Iterable, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(y_true, y_pred)`` over a loader: targets and the arg-max class of the outputs.

    Feeds :func:`dlcourse.plots.plot_confusion_matrix`. Introduced in a02-conv-arithmetic.
    """
    device = _device_of(model, device)
    channels_last = uses_channels_last(model)
    model.eval()
    targets, predictions = [], []
    with torch.no_grad():
        for batch in loader:
            X, y = _batch_to(batch, device, channels_last)
            targets.append(y.cpu())
            predictions.append(model(X).argmax(dim=1).cpu())
    return torch.cat(targets), torch.cat(predictions)


# --------------------------------------------------------------------------- checkpoints


def _rng_state(train_loader: Any) -> dict[str, Any]:
    """Every generator that decides shuffling, dropout and augmentation."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    for name in ("generator", "sampler"):
        holder = getattr(train_loader, name, None)
        generator = holder if name == "generator" else getattr(holder, "generator", None)
        if isinstance(generator, torch.Generator):
            state[f"loader_{name}"] = generator.get_state()
    return state


def _set_rng_state(state: dict[str, Any], train_loader: Any) -> None:
    random.setstate(state["python"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "loader_generator" in state:
        train_loader.generator.set_state(state["loader_generator"])
    if "loader_sampler" in state:
        train_loader.sampler.generator.set_state(state["loader_sampler"])


def _to_cpu(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()}


def _save(path: Path, checkpoint: dict[str, Any]) -> None:
    """Write atomically, so an interruption never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- fit


def fit(
    model: nn.Module,
    train_loader: Iterable,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    num_epochs: int,
    *,
    test_loader: Iterable | None = None,
    val_loader: Iterable | None = None,
    penalty: Callable[[nn.Module], torch.Tensor] | None = None,
    device: torch.device | str | None = None,
    scheduler: Any | None = None,
    early_stopping_patience: int | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    channels_last: bool | None = None,
) -> History:
    """Train ``model`` for up to ``num_epochs`` epochs and return the :class:`History`.

    - One tqdm bar per epoch shows the running training loss; at the end of the epoch it
      shows the epoch's train and test metrics. ``progress=False`` hides it. With the
      environment variable ``DLCOURSE_PROGRESS=lines`` (set when the site's pages are
      executed) each epoch prints one summary line instead, which reads well on a page.
    - ``device``: default the GPU if there is one, else the CPU; the model moves there.
    - ``scheduler`` steps once per epoch (``ReduceLROnPlateau`` gets the validation loss,
      else the test loss, else the train loss).
    - ``val_loader``: a validation set, evaluated after each epoch like the test set.
    - ``penalty(model)``: a regularisation term (e.g. an L1 or L2 norm of the weights)
      added to the loss that is minimised. The recorded losses are the data loss only,
      so that curves with and without a penalty compare.
    - ``early_stopping_patience=p``: stop after ``p`` epochs without a lower validation
      loss and restore the weights of the best epoch. It watches ``val_loader``, or
      ``test_loader`` when there is no validation set (then the test set is no longer an
      unbiased estimate: use a validation split).
    - ``checkpoint_path``: after each epoch save model, optimizer, scheduler, epoch,
      history, early-stopping state and random-generator states. ``resume=True``
      continues from that file at the next epoch (``num_epochs`` counts all epochs), and on
      the CPU with the same seed ends with the same history as an uninterrupted run.

    The model is left in eval mode. Introduced in a02-conv-arithmetic.
    """
    from tqdm.auto import tqdm

    from dlcourse.profiles import default_device

    watched = val_loader if val_loader is not None else test_loader
    if early_stopping_patience is not None and watched is None:
        raise ValueError(
            "early stopping watches the validation loss: pass val_loader (or test_loader)"
        )
    device = torch.device(device) if device is not None else default_device()
    if channels_last is None:
        channels_last = uses_channels_last(model)
    model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    path = Path(checkpoint_path) if checkpoint_path is not None else None
    history = History()
    best_loss, best_state, waited, start = float("inf"), None, 0, 1

    if resume and path is None:
        raise ValueError("resume=True needs checkpoint_path")
    if resume and path.is_file():
        checkpoint = torch.load(path, map_location=device, weights_only=True)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if scheduler is not None and checkpoint["scheduler"] is not None:
            scheduler.load_state_dict(checkpoint["scheduler"])
        history = History.from_dict(checkpoint["history"])
        best_loss, best_state = checkpoint["best_loss"], checkpoint["best_state"]
        waited = checkpoint["waited"]
        _set_rng_state(checkpoint["rng"], train_loader)
        start = checkpoint["epoch"] + 1
        if progress:
            print(f"Resuming from {path} after epoch {checkpoint['epoch']}.")
        if history.stopped_early:
            start = num_epochs + 1  # it had already stopped: nothing left to do
    elif resume and progress:
        print(f"No checkpoint at {path} yet: starting at epoch 1.")

    for epoch in range(start, num_epochs + 1):
        started = time.perf_counter()
        lr = float(optimizer.param_groups[0]["lr"])
        model.train()
        total_loss, n_samples, correct, n_targets = 0.0, 0, 0, 0
        total = len(train_loader) if hasattr(train_loader, "__len__") else None
        lines = os.environ.get("DLCOURSE_PROGRESS") == "lines"
        bar = tqdm(total=total, desc=f"epoch {epoch}/{num_epochs}", disable=not progress or lines)
        for batch in train_loader:
            X, y = _batch_to(batch, device, channels_last)
            optimizer.zero_grad()
            outputs = model(X)
            loss = loss_fn(outputs, y)
            (loss + penalty(model) if penalty is not None else loss).backward()
            optimizer.step()
            total_loss += loss.item() * len(X)
            n_samples += len(X)
            batch_correct = count_correct(outputs.detach(), y, loss_fn)
            if batch_correct is None:
                correct = None
            elif correct is not None:
                correct += batch_correct
                n_targets += y.numel()
            bar.set_postfix(loss=f"{total_loss / n_samples:.4f}", refresh=False)
            bar.update()
        train_loss = total_loss / max(n_samples, 1)
        train_accuracy = None if correct is None or n_targets == 0 else correct / n_targets
        test = evaluate(model, test_loader, loss_fn, device) if test_loader is not None else None
        val = evaluate(model, val_loader, loss_fn, device) if val_loader is not None else None
        monitored = val if val is not None else test

        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(monitored.loss if monitored is not None else train_loss)
            else:
                scheduler.step()

        history.epoch.append(epoch)
        history.train_loss.append(train_loss)
        history.train_accuracy.append(train_accuracy)
        history.test_loss.append(test.loss if test else None)
        history.test_accuracy.append(test.accuracy if test else None)
        history.val_loss.append(val.loss if val else None)
        history.val_accuracy.append(val.accuracy if val else None)
        history.lr.append(lr)
        history.seconds.append(time.perf_counter() - started)

        if early_stopping_patience is not None:
            if monitored.loss < best_loss:
                best_loss, best_state, waited = monitored.loss, _to_cpu(model.state_dict()), 0
                history.best_epoch = epoch
            else:
                waited += 1
            history.stopped_early = waited >= early_stopping_patience and epoch < num_epochs

        bar.set_postfix(_summary(history), refresh=True)
        bar.close()
        if progress and lines:
            summary = ", ".join(f"{k} {v}" for k, v in _summary(history).items())
            print(f"epoch {epoch}/{num_epochs}: {summary}")
        if path is not None:
            _save(
                path,
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "history": history.to_dict(),
                    "best_loss": best_loss,
                    "best_state": best_state,
                    "waited": waited,
                    "rng": _rng_state(train_loader),
                },
            )
        if history.stopped_early:
            if progress:
                print(
                    f"Early stopping after epoch {epoch}: no lower "
                    f"{'validation' if val_loader is not None else 'test'} loss for "
                    f"{early_stopping_patience} epochs; best epoch {history.best_epoch}."
                )
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


Gradients = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


def _accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float((outputs.argmax(dim=1) == targets).float().mean())


def train_full_batch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    num_epochs: int,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    gradients: Gradients | None = None,
    history: History | None = None,
    progress: bool = True,
) -> History:
    """Train a classifier on a small table with one full-batch step per epoch.

    ``data`` is ``(X_train, X_test, y_train, y_test)``, e.g. a
    :class:`dlcourse.data.TableSplit`. Each epoch records the training loss and accuracy
    of the weights before the step, takes one optimizer step, and evaluates the test set.
    Without randomness in the step, two runs from the same weights give the same curves.

    - ``loss_fn``: default cross-entropy on logits.
    - ``gradients(X, y) -> (loss, {parameter name: gradient})`` replaces autograd: the
      optimizer then steps with these gradients (e.g. a hand-written backward pass).
    - ``history``: continue a run (after loading a checkpoint): epochs are numbered on from
      ``len(history)`` up to ``num_epochs``, and the new epochs are appended to it.
    - ``progress``: one bar over the epochs (with ``DLCOURSE_PROGRESS=lines``, ten lines).

    The model is left in eval mode. Introduced in a06-init-normalization.
    """
    from tqdm.auto import tqdm

    loss_fn = loss_fn or nn.functional.cross_entropy
    X_train, X_test, y_train, y_test = data
    history = history if history is not None else History()
    parameters = dict(model.named_parameters())
    start = len(history) + 1
    lines = os.environ.get("DLCOURSE_PROGRESS") == "lines"
    every = max(1, (num_epochs - start + 1) // 10)
    bar = tqdm(range(start, num_epochs + 1), desc="epochs", disable=not progress or lines)
    for epoch in bar:
        started = time.perf_counter()
        model.train()
        optimizer.zero_grad()
        if gradients is None:
            outputs = model(X_train)
            loss = loss_fn(outputs, y_train)
            loss.backward()
        else:
            loss, grads = gradients(X_train, y_train)
            with torch.no_grad():
                outputs = model(X_train)
            for name, parameter in parameters.items():
                parameter.grad = grads[name].detach().clone()
        train_accuracy = _accuracy(outputs.detach(), y_train)
        optimizer.step()
        model.eval()
        with torch.no_grad():
            test_outputs = model(X_test)
            test_loss = float(loss_fn(test_outputs, y_test))
        history.epoch.append(epoch)
        history.train_loss.append(loss.item())
        history.train_accuracy.append(train_accuracy)
        history.test_loss.append(test_loss)
        history.test_accuracy.append(_accuracy(test_outputs, y_test))
        history.val_loss.append(None)
        history.val_accuracy.append(None)
        history.lr.append(float(optimizer.param_groups[0]["lr"]))
        history.seconds.append(time.perf_counter() - started)
        if epoch % every == 0 or epoch == num_epochs:
            bar.set_postfix(_summary(history), refresh=False)
            if progress and lines:
                summary = ", ".join(f"{k} {v}" for k, v in _summary(history).items())
                print(f"epoch {epoch}/{num_epochs}: {summary}")
    bar.close()
    model.eval()
    return history


def _summary(history: History) -> dict[str, str]:
    """The last epoch's metrics for the progress bar."""
    values = {
        "loss": history.train_loss[-1],
        "acc": history.train_accuracy[-1],
        "test_loss": history.test_loss[-1],
        "test_acc": history.test_accuracy[-1],
        "val_loss": history.val_loss[-1],
        "val_acc": history.val_accuracy[-1],
    }
    return {k: f"{v:.4f}" for k, v in values.items() if v is not None}
