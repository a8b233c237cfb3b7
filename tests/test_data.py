"""Data loaders on the offline mirror (DLCOURSE_DATA), with a temporary cache, offline."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from dlcourse import data

MIRROR_STATE: dict[str, dict[str, tuple[int, int]]] = {}


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under root with its size and modification time."""
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            info = os.stat(os.path.join(folder, name))
            state[os.path.relpath(os.path.join(folder, name), root)] = (
                info.st_size,
                info.st_mtime_ns,
            )
    return state


@pytest.fixture(scope="module", autouse=True)
def mirror_before(mirror_path: Path | None) -> None:
    """Record the mirror (if there is one) before any loader of this module runs."""
    if mirror_path is not None:
        MIRROR_STATE["before"] = snapshot(mirror_path)


def test_does_mnist_load_60000_train_and_10000_test_digits(mirror, dlcourse_cache):
    train = data.load_mnist("train")
    test = data.load_mnist("test", transform=torchvision.transforms.ToTensor())
    assert (len(train), len(test)) == (60000, 10000)
    image, label = test[0]
    assert image.shape == (1, 28, 28) and 0.0 <= image.min() and image.max() <= 1.0
    assert label == 7  # the first MNIST test digit is a 7
    assert sorted(torch.unique(train.targets).tolist()) == list(range(10))
    raw = dlcourse_cache / "MNIST" / "raw"
    assert (raw / "train-images-idx3-ubyte.gz").is_file(), "the .gz files are copied to the cache"
    assert (raw / "train-images-idx3-ubyte").is_file(), "and unpacked there"
    again = data.load_mnist("train")
    assert str(dlcourse_cache) in again.data_source, "a second load reads the unpacked cache"


def test_does_fashion_mnist_fall_back_to_the_png_subset_and_say_so(mirror, capsys):
    train = data.load_fashion_mnist("train")
    said = capsys.readouterr().out
    assert "FashionMNIST-png" in said and "10000 train images (1000 per class)" in said
    assert len(train) == 10000 and len(data.load_fashion_mnist("test")) == 2000
    assert train.classes == torchvision.datasets.FashionMNIST.classes
    assert isinstance(train.targets, torch.Tensor)
    assert torch.bincount(train.targets).tolist() == [1000] * 10


def test_is_a_trouser_image_label_1_and_an_ankle_boot_label_9(mirror):
    train = data.load_fashion_mnist("train")
    by_folder = {Path(path).parent.name: label for path, label in train.samples}
    assert by_folder["Trouser"] == 1 and by_folder["Ankle_boot"] == 9
    assert by_folder["T-shirt_top"] == 0 and by_folder["Bag"] == 8
    index = next(i for i, (path, _) in enumerate(train.samples) if "/Trouser/" in path)
    image, label = train[index]
    assert label == 1 and train.targets[index] == 1
    assert image.mode == "L" and image.size == (28, 28), "Fashion-MNIST images are grey"


def test_does_cifar10_fall_back_to_its_png_subset_with_official_labels(mirror, capsys):
    train = data.load_cifar10("train")
    assert "CIFAR10-png: 10000 train images (1000 per class)" in capsys.readouterr().out
    assert len(train) == 10000 and len(data.load_cifar10("test")) == 2000
    assert train.classes == "airplane automobile bird cat deer dog frog horse ship truck".split()
    index = next(i for i, (path, _) in enumerate(train.samples) if "/cat/" in path)
    image, label = train[index]
    assert label == 3 and image.mode == "RGB" and image.size == (32, 32)


def test_does_source_torchvision_refuse_the_png_subset(mirror):
    with pytest.raises(data.DataNotFoundError, match="DLCOURSE_OFFLINE"):
        data.load_fashion_mnist("train", source="torchvision")


def test_is_cifar100_missing_offline_a_clear_error(mirror):
    with pytest.raises(data.DataNotFoundError) as caught:
        data.load_cifar100("train")
    message = str(caught.value)
    assert "CIFAR100" in message and "cifar-100-python" in message
    assert str(mirror) in message and "DLCOURSE_DATA" in message


def test_does_breastmnist_test_have_156_images_with_42_malignant(mirror):
    test = data.load_breastmnist("test")
    assert len(test) == 156
    labels = data.dataset_labels(test)
    assert (labels == 0).sum() == 42 and (labels == 1).sum() == 114
    image, label = test[0]
    assert isinstance(label, int) and image.size == (28, 28)
    assert test.classes[0] == "malignant"
    assert [len(data.load_breastmnist(s)) for s in ("train", "val")] == [546, 78]


def test_do_the_segmentation_sets_give_image_and_binary_mask(mirror):
    dental = data.load_dental_caries()
    image, mask = dental[0]
    assert len(dental) == 100 and image.shape == (1, 256, 512) and mask.shape == (1, 256, 512)
    assert set(mask.unique().tolist()) == {0.0, 1.0}, "no dental mask is empty"
    roofs = data.load_rooftop_pv_area()
    image, mask = roofs[0]
    assert len(roofs) == 100 and image.shape == (3, 250, 250) and mask.shape == (1, 250, 250)
    assert image.dtype == torch.float32 and 0.0 <= image.min() and image.max() <= 1.0


def test_does_a_joint_transform_flip_image_and_mask_alike(mirror):
    from torchvision.transforms import v2

    plain = data.load_rooftop_pv_area()
    flipped = data.load_rooftop_pv_area(transform=v2.RandomHorizontalFlip(p=1.0))
    (image, mask), (image_f, mask_f) = plain[3], flipped[3]
    assert torch.equal(image_f, image.flip(-1)) and torch.equal(mask_f, mask.flip(-1))
    assert type(mask_f) is torch.Tensor, "plain tensors come out, not tv_tensors"


def test_does_the_gas_series_have_8724_hourly_rows(mirror):
    gas = data.load_gas_consumption(add_timestamp=True)
    assert len(gas) == 8724
    assert {"gas", "T", "FH", "hour", "day_year", "day_week"} <= set(gas.columns)
    assert (gas["T"].min(), gas["T"].max()) == (-91.0, 313.0), "0.1 °C units"
    assert str(gas["timestamp"].iloc[0]) == "2013-01-01 00:00:00"
    assert gas["hour"].between(1, 24).all()


def test_do_the_sklearn_tables_load_as_tensors():
    X, y, feature_names, target_names = data.load_iris()
    assert X.shape == (150, 4) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert len(feature_names) == 4 and target_names == ["setosa", "versicolor", "virginica"]
    cancer = data.load_breast_cancer(as_tensors=False)
    assert cancer.X.shape == (569, 30) and cancer.target_names == ["malignant", "benign"]


def test_do_sample_images_load_from_skimage_and_the_mirror(mirror):
    coffee = data.load_sample_image("coffee")
    assert coffee.shape == (400, 600, 3) and coffee.dtype == np.uint8
    assert data.load_sample_image("camera").shape == (512, 512)
    assert data.load_sample_image("messi").shape == (342, 548, 3)
    assert data.load_sample_image("messi_face", as_gray=True).shape == (52, 40)
    with pytest.raises(ValueError, match="Unknown sample image"):
        data.load_sample_image("lena")


def test_does_load_dataset_find_datasets_by_name(mirror):
    assert len(data.load_dataset("Fashion-MNIST", "test")) == 2000
    assert len(data.load_dataset("breastmnist", "val")) == 78
    assert len(data.load_dataset("dental_caries")) == 100
    with pytest.raises(ValueError, match="no splits"):
        data.load_dataset("rooftop-pv-area", "train")
    with pytest.raises(ValueError, match="Unknown dataset"):
        data.load_dataset("imagenet")


def test_does_subset_pick_n_per_class_reproducibly(mirror):
    train = data.load_fashion_mnist("train")
    small = data.subset(train, n_per_class=3, seed=0)
    assert len(small) == 30 and torch.bincount(small.targets).tolist() == [3] * 10
    assert small.indices == data.subset(train, n_per_class=3, seed=0).indices
    assert small.indices != data.subset(train, n_per_class=3, seed=1).indices
    assert [train[i][1] for i in small.indices[:5]] == small.targets[:5].tolist()
    assert small.classes == train.classes
    assert len(data.subset(data.load_breastmnist("test"), n=10)) == 10
    with pytest.raises(ValueError, match="fewer than"):
        data.subset(train, n_per_class=1001)


def test_do_make_loaders_batch_and_shuffle_reproducibly(mirror):
    train = data.load_fashion_mnist("train", transform=torchvision.transforms.ToTensor())
    test = data.load_fashion_mnist("test", transform=torchvision.transforms.ToTensor())
    small = data.subset(train, n=100, seed=0)
    train_loader, test_loader = data.make_loaders(small, test, batch_size=32, seed=1)
    X, y = next(iter(train_loader))
    assert X.shape == (32, 1, 28, 28) and y.dtype == torch.int64
    orders = [
        torch.cat([y for _, y in data.make_loaders(small, batch_size=32, seed=1)[0]])
        for _ in range(2)
    ]
    assert torch.equal(*orders), "the same seed gives the same shuffled order"
    assert len(test_loader) == 63 and "2000 items, 10 classes" in data.describe_dataset(test)


def test_does_an_empty_root_offline_raise_a_clear_error(empty_data_root):
    loaders = {
        "MNIST": data.load_mnist,
        "FashionMNIST": data.load_fashion_mnist,
        "CIFAR10": data.load_cifar10,
        "CIFAR100": data.load_cifar100,
        "BreastMNIST": data.load_breastmnist,
        "dental_caries_mlua": data.load_dental_caries,
        "rooftop_pv_area_geneva": data.load_rooftop_pv_area,
        "Gas consumption": data.load_gas_consumption,
        "messi": lambda: data.load_sample_image("messi"),
    }
    for name, load in loaders.items():
        with pytest.raises(data.DataNotFoundError) as caught:
            load()
        message = str(caught.value)
        assert isinstance(caught.value, FileNotFoundError)
        assert name in message, message
        assert str(empty_data_root) in message, "the message names the folder searched"
        assert "DLCOURSE_DATA" in message, "and says how to provide the data"
    assert not (empty_data_root.parent / "empty-cache" / "FashionMNIST").exists(), "no download"


def test_is_a_failed_download_a_data_not_found_error_from_the_original(
    empty_data_root, monkeypatch
):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.delenv("DLCOURSE_OFFLINE")
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(data.DataNotFoundError, match="download failed") as caught:
        data.load_mnist("test")
    assert isinstance(caught.value.__cause__, RuntimeError | urllib.error.URLError)
    with pytest.raises(data.DataNotFoundError, match="download failed") as caught:
        data.load_breastmnist("test")
    assert caught.value.__cause__ is not None


def test_are_data_root_and_cache_root_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "cache"))
    assert (data.data_root(), data.cache_root()) == (tmp_path / "data", tmp_path / "cache")
    monkeypatch.delenv("DLCOURSE_DATA")
    monkeypatch.delenv("DLCOURSE_CACHE")
    assert data.cache_root().name == "dlcourse" or data.cache_root().parent.name == "dlcourse"
    assert data.data_root() == data.cache_root(), "the data root defaults to the cache"


def test_does_importing_the_package_stay_cheap():
    code = (
        "import sys, dlcourse, dlcourse.data, dlcourse.train, dlcourse.plots, dlcourse.pretrained;"
        "print(sorted(m for m in ('torchvision', 'matplotlib', 'medmnist', 'pandas', 'sklearn',"
        " 'efficientnet_lite_pytorch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", "heavy libraries load only when a helper needs them"


def test_is_the_mirror_unchanged_after_loading_everything(mirror):
    for name in data.dataset_names():
        if name != "cifar100":
            data.load_dataset(name)
    data.load_gas_consumption()
    data.load_sample_image("game")
    assert snapshot(mirror) == MIRROR_STATE["before"], "a loader wrote into the mirror"


def test_can_the_datasets_be_pickled_for_worker_processes(mirror):
    import pickle

    for dataset in (
        data.load_fashion_mnist("test"),
        data.load_breastmnist("test"),
        data.load_dental_caries(),
    ):
        copy = pickle.loads(pickle.dumps(dataset))
        assert len(copy) == len(dataset)
        assert torch.equal(torch.as_tensor(copy[0][1]), torch.as_tensor(dataset[0][1]))


def test_split_per_class_gives_disjoint_balanced_parts():
    """split_per_class: n per class per part, no overlap, None takes the rest."""
    from torch.utils.data import TensorDataset

    from dlcourse.data import dataset_labels, split_per_class

    labels = torch.arange(3).repeat_interleave(10)
    dataset = TensorDataset(torch.zeros(30, 1), labels)
    val, train, rest = split_per_class(dataset, 2, 3, None, seed=1)
    assert len(val) == 6 and len(train) == 9 and len(rest) == 15
    assert not set(val.indices) & set(train.indices) and not set(train.indices) & set(rest.indices)
    assert np.bincount(dataset_labels(val)).tolist() == [2, 2, 2]
    assert split_per_class(dataset, 2, 3, seed=1)[0].indices == val.indices, "reproducible"
    with pytest.raises(ValueError, match="fewer"):
        split_per_class(dataset, 8, 3)


def test_preload_keeps_images_and_labels():
    """preload decodes once into uint8 tensors with labels, classes and a per-item transform."""
    from dlcourse.data import preload

    images = [torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8) for _ in range(5)]
    dataset = list(zip(images, [0, 1, 0, 1, 1], strict=True))
    loaded = preload(dataset, transform=lambda x: x.float() / 255)
    assert loaded.images.dtype == torch.uint8 and loaded.images.shape == (5, 3, 4, 4)
    assert loaded.targets.tolist() == [0, 1, 0, 1, 1]
    assert torch.equal(loaded[2][0], images[2].float() / 255)
    assert loaded.with_transform(None)[2][0].dtype == torch.uint8


def test_does_split_table_stratify_and_standardize_on_the_training_part():
    from dlcourse.data import load_breast_cancer, split_table

    data = load_breast_cancer()
    split = split_table(data, 0.1, seed=0)
    assert len(split.X_train) + len(split.X_test) == 569 and len(split.X_test) == 57
    assert split.X_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert torch.allclose(split.X_train.mean(0), torch.zeros(30), atol=1e-4)
    assert torch.allclose(split.X_train.std(0, unbiased=False), torch.ones(30), atol=1e-3)
    assert not torch.allclose(split.X_test.mean(0), torch.zeros(30), atol=1e-2)
    share = float(data.y.float().mean())
    assert abs(float(split.y_test.float().mean()) - share) < 0.02, "stratified"
    again = split_table(data, 0.1, seed=0)
    assert torch.equal(split.X_test, again.X_test), "the same seed gives the same split"
    raw = split_table(data, 0.1, seed=0, standardize=False)
    assert raw.X_train.max() > 100, "standardize=False keeps the raw features"
