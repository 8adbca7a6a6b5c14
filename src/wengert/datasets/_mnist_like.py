"""Finding and reading the four IDX files of an MNIST-style data set (MNIST, Fashion-MNIST).

wengert downloads nothing: the files are looked for in a list of folders, and
when they are absent the error says where to put them.
"""

from __future__ import annotations

import os

from ..backend import xp
from .idx import IDXError, read_idx

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def user_folder(name: str) -> str:
    """``~/.wengert/datasets/<name>``, where a user keeps data sets for wengert."""
    return os.path.join(os.path.expanduser("~"), ".wengert", "datasets", name)


def load(title: str, folders: list, hint: str = ""):
    """Read the four files from the first folder that has them all (each raw or gzipped).

    Returns Keras's ``((x_train, y_train), (x_test, y_test))``.  Raises
    FileNotFoundError naming every folder searched, what each lacked, and the
    file names to put there; IDXError when the files do not fit together.
    """
    report = []
    for folder in folders:
        if not os.path.isdir(folder):
            why = "not a folder" if os.path.exists(folder) else "no such folder"
            report.append(f"  {folder}  ({why})")
            continue
        found = [_find(folder, name) for name in FILES]
        if all(found):
            return _read_four(title, found)
        missing = [name for name, path in zip(FILES, found) if path is None]
        report.append(f"  {folder}  (missing {', '.join(missing)})")
    raise FileNotFoundError(
        f"{title} files not found, and wengert downloads nothing. Put these four files "
        f"(each raw or gzipped with .gz added) into one of the folders below:\n"
        f"  {', '.join(FILES)}\n"
        f"Folders searched, in order:\n" + "\n".join(report) + (f"\n{hint}" if hint else "")
    )


def _find(folder: str, name: str):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def _read_four(title: str, paths: list):
    arrays = [read_idx(p) for p in paths]
    sets = []
    for (images, labels), (images_path, labels_path) in zip(
        (arrays[:2], arrays[2:]), (paths[:2], paths[2:])
    ):
        if images.ndim != 3 or images.dtype != xp.uint8:
            raise IDXError(
                f"{images_path!r}: {title} images should be uint8 of shape (n, rows, cols), "
                f"found {images.dtype} {images.shape}"
            )
        if labels.ndim != 1 or labels.dtype != xp.uint8:
            raise IDXError(
                f"{labels_path!r}: {title} labels should be uint8 of shape (n,), "
                f"found {labels.dtype} {labels.shape}"
            )
        if len(images) != len(labels):
            raise IDXError(
                f"{title}: {images_path!r} holds {len(images)} images but {labels_path!r} "
                f"holds {len(labels)} labels; they should be equal"
            )
        sets.append((images, labels))
    return tuple(sets)
