"""Data loaders: one data root, a writable cache, clear errors, never silent substitutes.

Where data come from:

- ``DLCOURSE_DATA`` (see :func:`data_root`) is the one data root. It may be a read-only
  offline mirror such as the course's ``shared/datasets``; nothing is ever written into it.
- ``DLCOURSE_CACHE`` (see :func:`cache_root`) is a writable cache, by default
  ``~/.cache/dlcourse`` (the platform's user cache folder). Downloads, copies and
  unpacked files go there.
- ``DLCOURSE_OFFLINE=1`` forbids any download attempt: a missing dataset raises
  :class:`DataNotFoundError` at once (the tests use it).

Every loader raises :class:`DataNotFoundError` (a ``FileNotFoundError``) that names the
dataset, the files expected, the folders searched and how to provide them. When the full
torchvision files of FashionMNIST or CIFAR-10 are absent, the loaders fall back to the
mirror's class-balanced PNG subsets and print a line saying so, with the name and size.

Introduced in a02-conv-arithmetic.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

# Official label orders (as torchvision's ``.classes``), keyed by the PNG subset's folder names.
FASHION_MNIST_FOLDERS: dict[str, str] = {
    "T-shirt_top": "T-shirt/top",
    "Trouser": "Trouser",
    "Pullover": "Pullover",
    "Dress": "Dress",
    "Coat": "Coat",
    "Sandal": "Sandal",
    "Shirt": "Shirt",
    "Sneaker": "Sneaker",
    "Bag": "Bag",
    "Ankle_boot": "Ankle boot",
}
CIFAR10_FOLDERS: dict[str, str] = {
    name: name for name in "airplane automobile bird cat deer dog frog horse ship truck".split()
}
BREASTMNIST_CLASSES: list[str] = ["malignant", "normal, benign"]

SKIMAGE_IMAGES: tuple[str, ...] = tuple(
    "astronaut brick camera cat cell chelsea clock coffee coins colorwheel grass gravel "
    "horse hubble_deep_field immunohistochemistry logo microaneurysms moon page retina "
    "rocket text".split()
)
SKLEARN_IMAGES: tuple[str, ...] = ("china", "flower")
TEMPLATE_MATCHING_IMAGES: tuple[str, ...] = ("messi", "messi_face", "game", "coin")


# --------------------------------------------------------------------------- folders


def data_root() -> Path:
    """The data root: ``$DLCOURSE_DATA`` if set, else the cache folder (:func:`cache_root`).

    Treated as read-only: loaders copy or unpack into the cache, never into this folder.
    """
    value = os.environ.get("DLCOURSE_DATA", "").strip()
    return Path(value).expanduser() if value else cache_root()


def cache_root() -> Path:
    """The writable cache: ``$DLCOURSE_CACHE`` if set, else the platform's user cache folder.

    That is ``~/.cache/dlcourse`` on Linux (or ``$XDG_CACHE_HOME/dlcourse``),
    ``~/Library/Caches/dlcourse`` on macOS and ``%LOCALAPPDATA%\\dlcourse\\Cache`` on
    Windows. The folder is created only when a loader writes into it.
    """
    value = os.environ.get("DLCOURSE_CACHE", "").strip()
    if value:
        return Path(value).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "dlcourse" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "dlcourse"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "dlcourse"


def offline() -> bool:
    """True when ``DLCOURSE_OFFLINE=1``: loaders then never attempt a download."""
    return os.environ.get("DLCOURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def _search_folders() -> list[Path]:
    """The data root, then the cache (once if they are the same folder)."""
    folders = [data_root(), cache_root()]
    return folders[:1] if folders[0].resolve() == folders[1].resolve() else folders


def _writable(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class DataNotFoundError(FileNotFoundError):
    """A dataset is missing; the message says what was expected, where and how to get it."""

    def __init__(
        self,
        dataset: str,
        expected: Sequence[str],
        searched: Sequence[Path],
        how: str,
        reason: str = "",
    ) -> None:
        self.dataset = dataset
        self.expected = list(expected)
        self.searched = [Path(p) for p in searched]
        lines = [
            f"{dataset} not found.",
            "Expected: " + ", ".join(self.expected),
            "Searched: " + ", ".join(str(p) for p in self.searched),
        ]
        if reason:
            lines.append(reason)
        lines.append("How to provide it: " + how)
        super().__init__("\n".join(lines))


def _not_found(
    dataset: str, expected: Sequence[str], how: str, *, downloadable: bool, error: Exception | None
) -> DataNotFoundError:
    if not downloadable:
        reason = "There is no download for it."
    elif error is not None:
        message = " ".join(str(error).split())
        reason = f"The download failed: {type(error).__name__}: {message[:300]}"
    else:
        reason = "No download was attempted because DLCOURSE_OFFLINE=1."
    return DataNotFoundError(dataset, expected, _search_folders(), how, reason)


def _how(folder_hint: str, download: str | None) -> str:
    text = f"set DLCOURSE_DATA to a folder that holds {folder_hint}"
    if download:
        text += (
            f", or go online (with DLCOURSE_OFFLINE unset) so that {download} downloads it "
            f"into {cache_root()}"
        )
    return text + "."


def _copy_once(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` unless ``dst`` exists with the same size; atomic replace."""
    if dst.exists() and dst.stat().st_size == src.stat().st_size:
        return
    _writable(dst.parent)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _md5_ok(path: Path, md5: str) -> bool:
    if not path.is_file():
        return False
    digest = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == md5


def _check_split(split: str, allowed: Sequence[str]) -> str:
    if split not in allowed:
        raise ValueError(f"Unknown split {split!r}; choose one of {', '.join(allowed)}.")
    return split


# --------------------------------------------------------------------------- PNG subsets


def _open_gray(path: str) -> Any:
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("L")


def _open_rgb(path: str) -> Any:
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB")


def _load_png_subset(
    base: Path, name: str, split: str, folders: dict[str, str], gray: bool, why: str, **kwargs: Any
) -> Dataset:
    from torchvision.datasets import ImageFolder

    folder = base / name / split
    dataset = ImageFolder(str(folder), loader=_open_gray if gray else _open_rgb, **kwargs)
    if sorted(dataset.classes) != sorted(folders):
        raise ValueError(
            f"{folder} holds class folders {dataset.classes}, expected {list(folders)}"
        )
    # ImageFolder numbers the folders alphabetically; relabel to the official order.
    official = {folder_name: i for i, folder_name in enumerate(folders)}
    relabel = [official[folder_name] for folder_name in dataset.classes]
    dataset.samples = [(path, relabel[label]) for path, label in dataset.samples]
    dataset.imgs = dataset.samples
    dataset.targets = [label for _, label in dataset.samples]
    dataset.classes = list(folders.values())
    dataset.class_to_idx = {class_name: i for i, class_name in enumerate(dataset.classes)}
    counts = sorted(Counter(dataset.targets).values())
    spread = f"{counts[0]}" if counts[0] == counts[-1] else f"{counts[0]}-{counts[-1]}"
    dataset.data_source = f"PNG subset {folder}"
    print(
        f"Using the PNG subset {name}: {len(dataset)} {split} images ({spread} per class) "
        f"from {folder}, not the full dataset ({why})."
    )
    return dataset


# --------------------------------------------------------------------------- torchvision


def _mnist_family(
    cls_name: str,
    split: str,
    png: tuple[str, dict[str, str]] | None,
    source: str,
    **kwargs: Any,
) -> Dataset:
    import torchvision.datasets as tvd

    cls = getattr(tvd, cls_name)
    train = _check_split(split, ("train", "test")) == "train"
    gz = [filename for filename, _ in cls.resources]
    unpacked = [f.removesuffix(".gz") for f in gz]
    expected = [f"{cls_name}/raw/{f}" for f in gz]
    cache = cache_root()
    error: Exception | None = None

    if source in ("auto", "torchvision"):
        for base in _search_folders():  # already unpacked: read in place
            if all((base / cls_name / "raw" / f).is_file() for f in unpacked):
                dataset = cls(str(base), train=train, download=False, **kwargs)
                dataset.data_source = f"torchvision files in {base / cls_name / 'raw'}"
                return dataset
        for base in _search_folders():  # verified .gz files: copy into the cache, unpack there
            files = [base / cls_name / "raw" / f for f in gz]
            if all(_md5_ok(p, md5) for p, (_, md5) in zip(files, cls.resources, strict=True)):
                for p in files:
                    _copy_once(p, cache / cls_name / "raw" / p.name)
                dataset = cls(str(cache), train=train, download=True, **kwargs)
                dataset.data_source = f"torchvision files from {base / cls_name / 'raw'}"
                return dataset
        if not offline():
            try:
                dataset = cls(str(_writable(cache)), train=train, download=True, **kwargs)
                dataset.data_source = f"torchvision download into {cache / cls_name}"
                return dataset
            except (OSError, RuntimeError) as err:
                error = err
    hint = f"{cls_name}/raw/ with the four .gz files"
    return _png_or_raise(cls_name, split, png, source, expected, hint, True, error, kwargs)


def _cifar(
    cls_name: str,
    split: str,
    png: tuple[str, dict[str, str]] | None,
    source: str,
    **kwargs: Any,
) -> Dataset:
    import torchvision.datasets as tvd
    from torchvision.datasets.utils import extract_archive

    cls = getattr(tvd, cls_name)
    train = _check_split(split, ("train", "test")) == "train"
    cache = cache_root()
    error: Exception | None = None

    if source in ("auto", "torchvision"):
        for base in _search_folders():  # unpacked batches (torchvision checks their md5)
            if (base / cls.base_folder).is_dir():
                dataset = cls(str(base), train=train, download=False, **kwargs)
                dataset.data_source = f"torchvision files in {base / cls.base_folder}"
                return dataset
        for base in _search_folders():  # the verified tarball: unpack into the cache
            if _md5_ok(base / cls.filename, cls.tgz_md5):
                extract_archive(str(base / cls.filename), str(_writable(cache)))
                dataset = cls(str(cache), train=train, download=False, **kwargs)
                dataset.data_source = f"torchvision files from {base / cls.filename}"
                return dataset
        if not offline():
            try:
                dataset = cls(str(_writable(cache)), train=train, download=True, **kwargs)
                dataset.data_source = f"torchvision download into {cache / cls.base_folder}"
                return dataset
            except (OSError, RuntimeError) as err:
                error = err
    expected = [f"{cls.base_folder}/", cls.filename]
    hint = f"{cls.base_folder}/ or {cls.filename}"
    return _png_or_raise(cls_name, split, png, source, expected, hint, False, error, kwargs)


def _png_or_raise(
    cls_name: str,
    split: str,
    png: tuple[str, dict[str, str]] | None,
    source: str,
    expected: list[str],
    hint: str,
    gray: bool,
    error: Exception | None,
    kwargs: dict[str, Any],
) -> Dataset:
    """Fall back to the PNG subset if allowed and present, else raise DataNotFoundError."""
    if png is not None and source != "torchvision":
        for base in _search_folders():
            if (base / png[0] / split).is_dir():
                if source == "png":
                    why = "source='png' was requested"
                elif error is not None:
                    why = "torchvision's files are absent and the download failed"
                else:
                    why = "torchvision's files are absent and DLCOURSE_OFFLINE=1"
                return _load_png_subset(base, png[0], split, png[1], gray, why, **kwargs)
        png_expected, png_hint = f"{png[0]}/{split}/<class>/*.png", f"{png[0]}/{split}/<class>/"
        if source == "png":
            expected, hint = [png_expected], png_hint
        else:
            expected, hint = [*expected, png_expected], f"{hint} or {png_hint}"
    raise _not_found(
        f"{cls_name} ({split})",
        expected,
        _how(hint, f"torchvision.datasets.{cls_name}" if source != "png" else None),
        downloadable=source != "png",
        error=error,
    ) from error


def load_mnist(
    split: str = "train",
    transform: Callable | None = None,
    target_transform: Callable | None = None,
) -> Dataset:
    """MNIST digits (60000 train, 10000 test; PIL ``L`` images 28x28, labels 0-9).

    Reads unpacked files in place; copies verified ``MNIST/raw/*.gz`` from the data root
    into the cache once and lets torchvision unpack them there (no network); else downloads
    into the cache unless offline. Introduced in a02-conv-arithmetic.
    """
    kwargs = {"transform": transform, "target_transform": target_transform}
    return _mnist_family("MNIST", split, None, "torchvision", **kwargs)


def load_fashion_mnist(
    split: str = "train",
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    *,
    source: str = "auto",
) -> Dataset:
    """Fashion-MNIST (PIL ``L`` images 28x28, labels in the official order 0-9).

    ``source="auto"`` prefers torchvision's files (data root, cache, or a download) and
    falls back to the mirror's ``FashionMNIST-png`` subset (1000 train / 200 test images
    per class) with a printed note; ``"torchvision"`` or ``"png"`` forces one of them.
    The subset's ``.classes``, ``.class_to_idx`` and ``.targets`` (a tensor) use
    torchvision's order (T-shirt/top = 0, Trouser = 1, ..., Ankle boot = 9), not the
    alphabetical order of its folders. Introduced in a02-conv-arithmetic.
    """
    _check_source(source)
    kwargs = {"transform": transform, "target_transform": target_transform}
    dataset = _mnist_family(
        "FashionMNIST", split, ("FashionMNIST-png", FASHION_MNIST_FOLDERS), source, **kwargs
    )
    if not isinstance(dataset.targets, torch.Tensor):  # PNG subset: match torchvision's type
        dataset.targets = torch.tensor(dataset.targets, dtype=torch.int64)
    return dataset


def load_cifar10(
    split: str = "train",
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    *,
    source: str = "auto",
) -> Dataset:
    """CIFAR-10 (PIL RGB images 32x32, labels 0-9 in torchvision's order).

    ``source="auto"`` prefers torchvision's files (data root, cache, or a download) and
    falls back to the mirror's ``CIFAR10-png`` subset (1000 train / 200 test images per
    class) with a printed note; ``"torchvision"`` or ``"png"`` forces one of them.
    Introduced in a02-conv-arithmetic.
    """
    _check_source(source)
    kwargs = {"transform": transform, "target_transform": target_transform}
    return _cifar("CIFAR10", split, ("CIFAR10-png", CIFAR10_FOLDERS), source, **kwargs)


def load_cifar100(
    split: str = "train",
    transform: Callable | None = None,
    target_transform: Callable | None = None,
) -> Dataset:
    """CIFAR-100 (PIL RGB 32x32, 100 fine labels); torchvision's files or download only.

    The offline mirror has no copy: offline this raises :class:`DataNotFoundError`.
    Introduced in a02-conv-arithmetic.
    """
    kwargs = {"transform": transform, "target_transform": target_transform}
    return _cifar("CIFAR100", split, None, "torchvision", **kwargs)


def _check_source(source: str) -> None:
    if source not in ("auto", "torchvision", "png"):
        raise ValueError(f"source must be 'auto', 'torchvision' or 'png', not {source!r}")


# --------------------------------------------------------------------------- MedMNIST


def _first_label(target: Any) -> int:
    """MedMNIST gives each label as an array of shape (1,); this makes it an int."""
    return int(np.asarray(target).reshape(-1)[0])


def load_breastmnist(
    split: str = "train",
    transform: Callable | None = None,
    *,
    size: int = 28,
    flat_labels: bool = True,
    as_rgb: bool = False,
) -> Dataset:
    """BreastMNIST from MedMNIST v2: ultrasound, 0 = malignant, 1 = normal or benign.

    Splits: train 546, val 78, test 156 (42 malignant). Reads ``<root>/medmnist/breastmnist.npz``
    (``breastmnist_<size>.npz`` for size 64/128/224) with ``download=False``, because the
    mirror's file has the official content but not the official md5; else downloads into the
    cache unless offline. With ``flat_labels`` a label is an ``int`` (MedMNIST's own is an
    array of shape (1,)). ``.classes`` names the labels. Introduced in a02-conv-arithmetic.
    """
    _check_split(split, ("train", "val", "test"))
    filename = "breastmnist.npz" if size == 28 else f"breastmnist_{size}.npz"
    kwargs: dict[str, Any] = {
        "split": split,
        "transform": transform,
        "target_transform": _first_label if flat_labels else None,
        "as_rgb": as_rgb,
        "size": size,
    }
    dataset = None
    error: Exception | None = None
    for base in _search_folders():
        if (base / "medmnist" / filename).is_file():
            import medmnist

            folder = base / "medmnist"
            dataset = medmnist.BreastMNIST(root=str(folder), download=False, **kwargs)
            dataset.data_source = f"MedMNIST file {folder / filename}"
            break
    if dataset is None and not offline():
        import medmnist

        folder = _writable(cache_root() / "medmnist")
        try:
            dataset = medmnist.BreastMNIST(root=str(folder), download=True, **kwargs)
            dataset.data_source = f"MedMNIST download into {folder}"
        except (OSError, RuntimeError) as err:
            error = err
    if dataset is None:
        raise _not_found(
            f"BreastMNIST ({split})",
            [f"medmnist/{filename}"],
            _how(f"medmnist/{filename}", "medmnist"),
            downloadable=True,
            error=error,
        ) from error
    dataset.classes = list(BREASTMNIST_CLASSES)
    return dataset


# --------------------------------------------------------------------------- segmentation


def _find_folder(name: str, parts: Sequence[str], how: str) -> Path:
    for base in _search_folders():
        if all((base / name / part).is_dir() for part in parts):
            return base / name
    raise _not_found(
        name, [f"{name}/{part}/" for part in parts], how, downloadable=False, error=None
    )


class SegmentationFolder(Dataset):
    """Image/mask pairs from ``<folder>/images/<stem>.*`` and ``<folder>/masks/<stem>.png``.

    An item is ``(image, mask)``: ``image`` a float tensor (C, H, W) in [0, 1], ``mask`` a
    float tensor (1, H, W) of 0 and 1. ``transform(image, mask)`` is applied jointly; the
    two arrive as ``torchvision.tv_tensors.Image`` and ``Mask``, so a
    ``torchvision.transforms.v2`` pipeline flips or crops both alike and changes colours
    of the image only. There are no official splits: use ``torch.utils.data.random_split``
    with a seeded generator. Introduced in a02-conv-arithmetic.
    """

    def __init__(self, folder: Path, *, gray: bool, transform: Callable | None = None) -> None:
        self.folder = Path(folder)
        self.gray = gray
        self.transform = transform
        self.image_paths = sorted(p for p in (self.folder / "images").iterdir() if p.is_file())
        self.mask_paths = [self.folder / "masks" / f"{p.stem}.png" for p in self.image_paths]
        missing = [str(p) for p in self.mask_paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} masks are missing, e.g. {missing[0]}")
        self.names = [p.stem for p in self.image_paths]
        self.data_source = f"image/mask folders in {self.folder}"

    def __len__(self) -> int:
        return len(self.image_paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image
        from torchvision import tv_tensors

        with Image.open(self.image_paths[index]) as img:
            pixels = np.asarray(img.convert("L" if self.gray else "RGB"), dtype=np.float32)
        with Image.open(self.mask_paths[index]) as img:
            mask_pixels = np.asarray(img.convert("L")) > 127
        image = torch.from_numpy(pixels / 255.0)
        image = image.unsqueeze(0) if self.gray else image.permute(2, 0, 1)
        mask = torch.from_numpy(mask_pixels).to(torch.float32).unsqueeze(0)
        if self.transform is not None:
            image, mask = self.transform(tv_tensors.Image(image), tv_tensors.Mask(mask))
            image, mask = image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)
        return image, mask


def load_dental_caries(transform: Callable | None = None) -> SegmentationFolder:
    """Panoramic dental X-ray crops with caries masks (DC1000 public test samples).

    100 pairs from ``<root>/dental_caries_mlua/{images,masks}``: grey images (1, 256, 512)
    and binary masks; caries cover about 0.44 % of the pixels and no mask is empty, so
    plain pixel accuracy is meaningless here (use Dice or IoU). Source and licence:
    the mirror's MANIFEST.md. Introduced in a02-conv-arithmetic.
    """
    how = _how("dental_caries_mlua/images/ and masks/ (the course's offline mirror)", None)
    folder = _find_folder("dental_caries_mlua", ("images", "masks"), how)
    return SegmentationFolder(folder, gray=True, transform=transform)


def load_rooftop_pv_area(transform: Callable | None = None) -> SegmentationFolder:
    """Aerial RGB tiles of Geneva (3, 250, 250) at 0.25 m/pixel with rooftop masks.

    100 pairs from ``<root>/rooftop_pv_area_geneva/{images,masks}``. A mask marks the
    rooftop area AVAILABLE for installing photovoltaic panels (roofs minus chimneys,
    windows, existing PV and other superstructures), about 16 % of the pixels; it does
    NOT mark existing solar panels. Images are JPEG (quality 95) re-encodings. Source:
    the mirror's MANIFEST.md. Introduced in a02-conv-arithmetic.
    """
    how = _how("rooftop_pv_area_geneva/images/ and masks/ (the course's offline mirror)", None)
    folder = _find_folder("rooftop_pv_area_geneva", ("images", "masks"), how)
    return SegmentationFolder(folder, gray=False, transform=transform)


# --------------------------------------------------------------------------- tables, series


def load_gas_consumption(*, add_timestamp: bool = False) -> Any:
    """Hourly gas use of one Amsterdam university building in 2013, with KNMI weather.

    Returns the CSV ``<root>/gas/NTH_2013_clean.csv`` as a pandas DataFrame, 8724 rows
    (8760 hours minus 36 missing, among them all of day 23), values unchanged. Columns:
    ``gas`` (target, m³/h); lagged/rolling gas features ``before1``, ``before2``,
    ``peak5``, ``sum5``, ``peak24``, ``sum24``, ``mean15``, ``std_day``, ``std_year``;
    weather ``FH`` (wind), ``T`` (temperature), ``Q`` (radiation), ``U`` (humidity %),
    ``peak5T``, ``diffT``; electricity ``kwh``, ``kwhpeak5``; calendar ``day_year``
    (1-365), ``hour`` (1-24), ``day_week`` and ``next_day_week`` (0 = Sunday ... 6 =
    Saturday; public holidays carry 6); ``row ID``. The source gives no units for ``T``
    and ``FH``: they look like KNMI's 0.1 °C and 0.1 m/s (``T`` runs from -91 to 313,
    i.e. -9.1 to 31.3 °C), an inference the source does not confirm.

    ``add_timestamp`` adds a ``timestamp`` column, the start of each hour, assuming KNMI's
    convention that hour h covers (h-1):00 to h:00. Introduced in a02-conv-arithmetic.
    """
    import pandas as pd

    for base in _search_folders():
        path = base / "gas" / "NTH_2013_clean.csv"
        if path.is_file():
            frame = pd.read_csv(path)
            if add_timestamp:
                days = pd.to_timedelta(frame["day_year"] - 1, unit="D")
                hours = pd.to_timedelta(frame["hour"] - 1, unit="h")
                frame["timestamp"] = pd.Timestamp("2013-01-01") + days + hours
            return frame
    how = _how("gas/NTH_2013_clean.csv (the course's offline mirror)", None)
    raise _not_found(
        "Gas consumption 2013", ["gas/NTH_2013_clean.csv"], how, downloadable=False, error=None
    )


class TabularData(NamedTuple):
    """Features ``X`` (n, d), labels ``y`` (n,), and their names."""

    X: Any
    y: Any
    feature_names: list[str]
    target_names: list[str]


def load_tabular(name: str, *, as_tensors: bool = True) -> TabularData:
    """A scikit-learn bundled table (no download): ``iris``, ``breast_cancer`` or ``digits``.

    ``X`` is float32 and ``y`` int64, as tensors (or NumPy arrays with
    ``as_tensors=False``). In ``breast_cancer`` 0 = malignant, 1 = benign.
    Introduced in a02-conv-arithmetic.
    """
    from sklearn import datasets

    loaders = {
        "iris": datasets.load_iris,
        "breast_cancer": datasets.load_breast_cancer,
        "digits": datasets.load_digits,
    }
    if name not in loaders:
        raise ValueError(f"Unknown table {name!r}; choose one of {', '.join(loaders)}.")
    bunch = loaders[name]()
    X, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    if as_tensors:
        X, y = torch.from_numpy(X), torch.from_numpy(y)
    names = [str(f) for f in bunch.feature_names], [str(t) for t in bunch.target_names]
    return TabularData(X, y, *names)


def load_iris(*, as_tensors: bool = True) -> TabularData:
    """Iris: 150 flowers, 4 features, 3 species. Introduced in a02-conv-arithmetic."""
    return load_tabular("iris", as_tensors=as_tensors)


def load_breast_cancer(*, as_tensors: bool = True) -> TabularData:
    """Wisconsin breast cancer: 569 samples, 30 features, 0 = malignant, 1 = benign.

    Introduced in a02-conv-arithmetic.
    """
    return load_tabular("breast_cancer", as_tensors=as_tensors)


class TableSplit(NamedTuple):
    """A stratified train/test split of a table, as float32 / int64 tensors."""

    X_train: torch.Tensor
    X_test: torch.Tensor
    y_train: torch.Tensor
    y_test: torch.Tensor


def split_table(
    data: TabularData, test_size: float, *, seed: int = 0, standardize: bool = True
) -> TableSplit:
    """Split ``data`` into stratified train and test parts (``test_size`` a fraction).

    With ``standardize`` every feature is shifted and scaled to mean 0 and standard
    deviation 1 *on the training part*; the test part gets the same shift and scale, so
    nothing about the test set leaks into training. Introduced in a06-init-normalization.
    """
    from sklearn.model_selection import train_test_split

    X, y = np.asarray(data.X, dtype=np.float32), np.asarray(data.y, dtype=np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=seed
    )
    if standardize:
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        std[std == 0] = 1.0
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    arrays = (X_train, X_test, y_train, y_test)
    return TableSplit(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))


# --------------------------------------------------------------------------- sample images


def sample_image_names() -> list[str]:
    """Names :func:`load_sample_image` accepts. Introduced in a02-conv-arithmetic."""
    return [*SKIMAGE_IMAGES, *SKLEARN_IMAGES, *TEMPLATE_MATCHING_IMAGES]


def load_sample_image(name: str, *, as_gray: bool = False) -> np.ndarray:
    """A sample photo as a uint8 NumPy array, (H, W) or (H, W, C) in RGB(A) order.

    Names: scikit-image's bundled images (``astronaut``, ``camera``, ``chelsea``,
    ``coffee``, ...), scikit-learn's ``china`` and ``flower``, and the mirror's
    template-matching pairs ``messi``/``messi_face`` and ``game``/``coin`` (from
    ``<root>/template_matching/``). OpenCV expects BGR: convert with
    ``cv2.cvtColor(img, cv2.COLOR_RGB2BGR)``. ``as_gray`` returns (H, W) luminance.
    Introduced in a02-conv-arithmetic.
    """
    from PIL import Image

    if name in SKIMAGE_IMAGES:
        import skimage.data

        array = np.asarray(getattr(skimage.data, name)())
    elif name in SKLEARN_IMAGES:
        from sklearn.datasets import load_sample_image as sklearn_image

        array = np.asarray(sklearn_image(f"{name}.jpg"))
    elif name in TEMPLATE_MATCHING_IMAGES:
        for base in _search_folders():
            path = base / "template_matching" / f"{name}.jpg"
            if path.is_file():
                with Image.open(path) as img:
                    array = np.asarray(img.convert("RGB"))
                break
        else:
            how = _how("template_matching/*.jpg (the course's offline mirror)", None)
            raise _not_found(
                f"Sample image {name!r}",
                [f"template_matching/{name}.jpg"],
                how,
                downloadable=False,
                error=None,
            )
    else:
        raise ValueError(f"Unknown sample image {name!r}; choose one of {sample_image_names()}.")
    if as_gray and array.ndim == 3:
        array = np.asarray(Image.fromarray(array).convert("L"))
    return array


# --------------------------------------------------------------------------- uniform access

_LOADERS: dict[str, tuple[Callable[..., Any], str | None]] = {
    "mnist": (load_mnist, "train"),
    "fashionmnist": (load_fashion_mnist, "train"),
    "cifar10": (load_cifar10, "train"),
    "cifar100": (load_cifar100, "train"),
    "breastmnist": (load_breastmnist, "train"),
    "dentalcaries": (load_dental_caries, None),
    "rooftoppvarea": (load_rooftop_pv_area, None),
}


def dataset_names() -> list[str]:
    """Names :func:`load_dataset` accepts. Introduced in a02-conv-arithmetic."""
    return list(_LOADERS)


def load_dataset(
    name: str, split: str | None = None, transform: Callable | None = None, **kwargs: Any
) -> Dataset:
    """Load a dataset by name, e.g. ``load_dataset("fashion-mnist", "test", transform)``.

    Names (case, ``-`` and ``_`` ignored): mnist, fashionmnist, cifar10, cifar100,
    breastmnist, dental_caries, rooftop_pv_area. ``split`` defaults to ``"train"``; the
    two segmentation sets have no splits (pass nothing or ``"all"``). Extra keyword
    arguments go to the loader (e.g. ``source="png"``). Introduced in a02-conv-arithmetic.
    """
    key = name.lower().replace("-", "").replace("_", "")
    if key not in _LOADERS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(_LOADERS)}.")
    loader, default_split = _LOADERS[key]
    if default_split is None:
        if split not in (None, "all"):
            raise ValueError(f"{name} has no splits; use random_split with a seeded generator.")
        return loader(transform=transform, **kwargs)
    return loader(split or default_split, transform=transform, **kwargs)


def dataset_labels(dataset: Dataset) -> np.ndarray:
    """The integer class label of every item, without loading the images where possible.

    Uses ``.targets`` (torchvision), ``.labels`` (MedMNIST) or a ``Subset``'s parent;
    otherwise reads every item. Introduced in a02-conv-arithmetic.
    """
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset)[np.asarray(dataset.indices, dtype=np.int64)]
    if hasattr(dataset, "targets"):
        targets = dataset.targets
        if isinstance(targets, torch.Tensor):
            targets = targets.numpy()
        return np.asarray(targets, dtype=np.int64).reshape(len(dataset))
    if hasattr(dataset, "labels"):
        return np.asarray(dataset.labels, dtype=np.int64).reshape(len(dataset), -1)[:, 0]
    return np.asarray([int(dataset[i][1]) for i in range(len(dataset))], dtype=np.int64)


class LabeledSubset(Subset):
    """A ``Subset`` that keeps ``.targets`` and ``.classes`` of its dataset."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        super().__init__(dataset, list(indices))
        self.classes = getattr(dataset, "classes", None)
        self.targets = torch.from_numpy(dataset_labels(dataset)[np.asarray(self.indices)])


def subset(
    dataset: Dataset, n: int | None = None, *, n_per_class: int | None = None, seed: int = 0
) -> LabeledSubset:
    """A reproducible random subset: ``n`` items, or ``n_per_class`` items of each class.

    Profiles use it: ``subset(train, n_per_class=pick(PROFILE, smoke=20, book=500,
    full=None))``; ``None`` for both returns the whole dataset. Indices come out sorted;
    shuffling is the DataLoader's job. Introduced in a02-conv-arithmetic.
    """
    if n is not None and n_per_class is not None:
        raise ValueError("Give n or n_per_class, not both.")
    generator = torch.Generator().manual_seed(seed)
    if n_per_class is not None:
        labels = dataset_labels(dataset)
        chosen: list[int] = []
        for label in np.unique(labels):
            where = np.flatnonzero(labels == label)
            if len(where) < n_per_class:
                raise ValueError(
                    f"class {label} has {len(where)} items, fewer than n_per_class={n_per_class}"
                )
            order = torch.randperm(len(where), generator=generator)[:n_per_class].numpy()
            chosen.extend(where[order].tolist())
        return LabeledSubset(dataset, sorted(chosen))
    if n is None:
        return LabeledSubset(dataset, range(len(dataset)))
    if n > len(dataset):
        raise ValueError(f"n={n} is larger than the dataset ({len(dataset)} items)")
    return LabeledSubset(dataset, sorted(torch.randperm(len(dataset), generator=generator)[:n]))


def make_loaders(
    train: Dataset,
    test: Dataset | None = None,
    batch_size: int = 64,
    *,
    test_batch_size: int | None = None,
    num_workers: int = 0,
    seed: int | None = None,
    drop_last: bool = False,
) -> tuple[DataLoader, DataLoader | None]:
    """``(train_loader, test_loader)``: the train loader shuffles, the test loader does not.

    With ``seed`` the shuffling has its own generator; without it, it follows torch's
    global generator (seeded by ``start_run``). Worker processes (``num_workers > 0``) get
    seeds for torch, NumPy and ``random`` drawn from that generator, so random augmentation
    is the same run after run. ``test_loader`` is None without ``test``.
    Introduced in a02-conv-arithmetic.
    """
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    train_loader = DataLoader(
        train,
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        generator=generator,
        drop_last=drop_last,
    )
    test_loader = None
    if test is not None:
        test_loader = DataLoader(
            test, batch_size=test_batch_size or batch_size, shuffle=False, num_workers=num_workers
        )
    return train_loader, test_loader


def _provenance(dataset: Dataset) -> tuple[Dataset, Sequence[str] | None, str]:
    """The dataset under a Subset, its class names and where its data came from."""
    inner = dataset.dataset if isinstance(dataset, Subset) else dataset
    classes = getattr(dataset, "classes", None) or getattr(inner, "classes", None)
    source = getattr(inner, "data_source", "unknown source")
    if isinstance(dataset, Subset):
        source = f"subset of {len(inner)}; {source}"
    return inner, classes, source


def describe_dataset(dataset: Dataset) -> str:
    """One line for a run report: name, size, number of classes and where it came from.

    Introduced in a02-conv-arithmetic.
    """
    inner, classes, source = _provenance(dataset)
    text = f"{type(inner).__name__}: {len(dataset)} items"
    return text + (f", {len(classes)} classes" if classes else "") + f" ({source})"


# --------------------------------------------------------------------------- in memory


class TensorImages(Dataset):
    """Images held in memory as one uint8 tensor ``(N, C, H, W)``, with integer labels.

    Decoding thousands of small PNG files in every epoch costs more than training a small
    network on them; :func:`preload` decodes them once. ``transform`` (e.g. a torchvision
    ``v2.Compose`` that converts to float, normalises and augments) runs on each item as it
    is drawn, so random augmentation differs from epoch to epoch. ``.targets``,
    ``.classes`` and ``.data_source`` work with :func:`subset` and
    :func:`describe_dataset`. Introduced in a04-cnn-regularization.
    """

    def __init__(
        self,
        images: torch.Tensor,
        targets: torch.Tensor,
        classes: Sequence[str] | None = None,
        transform: Callable | None = None,
        data_source: str = "tensors in memory",
    ) -> None:
        if images.ndim != 4 or len(images) != len(targets):
            raise ValueError(
                f"expected images (N, C, H, W) and N targets, got {tuple(images.shape)} "
                f"and {len(targets)} targets"
            )
        self.images, self.targets = images, torch.as_tensor(targets, dtype=torch.int64)
        self.classes = list(classes) if classes is not None else None
        self.transform, self.data_source = transform, data_source

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, torch.Tensor]:
        image = self.images[index]
        return (self.transform(image) if self.transform else image), self.targets[index]

    def with_transform(self, transform: Callable | None) -> TensorImages:
        """The same images (shared, not copied) with another per-item transform."""
        return TensorImages(self.images, self.targets, self.classes, transform, self.data_source)


def _to_uint8_chw(image: Any) -> torch.Tensor:
    from torchvision.transforms.v2.functional import pil_to_tensor

    if isinstance(image, torch.Tensor):
        if image.dtype != torch.uint8:
            raise TypeError("preload keeps uint8 images: load the dataset without a transform")
        return image if image.ndim == 3 else image.unsqueeze(0)
    return pil_to_tensor(image)


def preload(dataset: Dataset, transform: Callable | None = None) -> TensorImages:
    """Decode every image of ``dataset`` (PIL images or uint8 tensors, no transform) once
    into a :class:`TensorImages` that applies ``transform`` per item.

    ``preload(subset(load_cifar10("train"), n_per_class=100))`` holds 1000 images of
    3 KB each. Introduced in a04-cnn-regularization.
    """
    images, targets = [], []
    for index in range(len(dataset)):
        image, target = dataset[index]
        images.append(_to_uint8_chw(image))
        targets.append(int(target))
    if not images:
        raise ValueError("the dataset is empty")
    _, classes, source = _provenance(dataset)
    return TensorImages(torch.stack(images), torch.tensor(targets), classes, transform, source)


def split_per_class(
    dataset: Dataset, *per_class: int | None, seed: int = 0
) -> list[LabeledSubset]:
    """Disjoint class-balanced subsets: ``n`` items of each class for each ``n`` in
    ``per_class``, drawn in order from one random permutation; ``None`` (last only) takes
    all the remaining items.

    ``val, train = split_per_class(pool, 100, None)`` holds out 100 validation images per
    class and trains on the rest; ``split_per_class(pool, 20, 50)`` draws a validation set
    and a small training set that never overlap. Introduced in a04-cnn-regularization.
    """
    if any(n is None for n in per_class[:-1]):
        raise ValueError("only the last size may be None (the rest of each class)")
    labels = dataset_labels(dataset)
    generator = torch.Generator().manual_seed(seed)
    chosen: list[list[int]] = [[] for _ in per_class]
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        where = where[torch.randperm(len(where), generator=generator).numpy()]
        wanted = sum(n for n in per_class if n is not None)
        if wanted > len(where):
            raise ValueError(f"class {label} has {len(where)} items, fewer than {wanted}")
        start = 0
        for part, n in enumerate(per_class):
            stop = len(where) if n is None else start + n
            chosen[part].extend(where[start:stop].tolist())
            start = stop
    return [LabeledSubset(dataset, sorted(indices)) for indices in chosen]
