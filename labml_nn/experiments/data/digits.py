r"""
---
title: "Small images: digits, MNIST and CIFAR-10"
summary: >
  scikit-learn's bundled 8x8 handwritten digits with a fixed, seeded
  train/validation/test split (no download), and loaders for MNIST and CIFAR-10
  that download once and check their SHA-256.
---

# Small images: digits, MNIST and CIFAR-10

## The bundled digits

[scikit-learn](https://scikit-learn.org/stable/modules/generated/sklearn.datasets.load_digits.html)
ships 1,797 handwritten digits of $8 \times 8$ pixels with 17 grey levels
(0 to 16), taken from the UCI "Optical Recognition of Handwritten Digits" set.
They come with the library, so an experiment on them needs no network, and they
are small enough that a classifier or a generative model trains in seconds on a
CPU. That makes them the default image data of this project's experiments.

`load_digits(split, seed)` returns

* `images` of shape `[N, 1, 8, 8]`, `float32`, the grey levels divided by 16 into $[0, 1]$;
* `labels` of shape `[N]`, `int64`, the digit 0 to 9.

The split is fixed by `seed`: a random permutation of the 1,797 images, of
which the first 1,257 are the training split, the next 270 the validation split
and the last 270 the test split (70% / 15% / 15%). Every split with the same
seed is the same everywhere, and the three never overlap.

## MNIST and CIFAR-10

For readers with a network and a GPU, `load_mnist` and `load_cifar10` return
the real thing in the same layout ($[N, 1, 28, 28]$ and $[N, 3, 32, 32]$ in
$[0, 1]$, labels `int64`). The files are downloaded once into `root` (default
`data/`) and checked against the SHA-256 written below, before and every time
after. Neither is used by default, and the tests use small files they write.
"""

import gzip
import struct
import tarfile
from pathlib import Path
from typing import Dict, Tuple

import torch

from labml_nn.experiments.data.download import fetch
from labml_nn.experiments.errors import ExperimentError

SPLITS = ('train', 'valid', 'test')
# Sizes of the splits of the 1,797 digits
SPLIT_SIZES = {'train': 1257, 'valid': 270, 'test': 270}


def _check_split(split: str):
    if split not in SPLITS:
        raise ExperimentError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")


def load_digits(split: str = 'train', seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    ## One split of the bundled digits
    """
    _check_split(split)
    from sklearn.datasets import load_digits as sk_load_digits
    data = sk_load_digits()
    # `[1797, 64]` grey levels 0..16 to `[1797, 1, 8, 8]` in $[0, 1]$
    images = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(data.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_train, n_valid = SPLIT_SIZES['train'], SPLIT_SIZES['valid']
    picked = {'train': order[:n_train], 'valid': order[n_train:n_train + n_valid],
              'test': order[n_train + n_valid:]}[split]
    return images[picked], labels[picked]


class Digits:
    """
    ## The digits as a dataset

    `Digits('train')[i]` is `(image [1, 8, 8], label)`; `len()` is the size of the split.
    """

    def __init__(self, split: str = 'train', seed: int = 0):
        self.images, self.labels = load_digits(split, seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


# ## MNIST
#
# The four files of [MNIST](http://yann.lecun.com/exdb/mnist/), on the mirror that
# TensorFlow Datasets uses, with their SHA-256
MNIST_URL = 'https://storage.googleapis.com/cvdf-datasets/mnist/'
MNIST_FILES: Dict[str, str] = {
    'train-images-idx3-ubyte.gz': '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    'train-labels-idx1-ubyte.gz': '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
    't10k-images-idx3-ubyte.gz': '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
    't10k-labels-idx1-ubyte.gz': 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
}


def read_idx(path: Path) -> torch.Tensor:
    """
    ### Read a gzipped IDX file

    The IDX format: two zero bytes, a type byte (`0x08` for unsigned bytes), the
    number of dimensions, each dimension as a big-endian 32-bit integer, then the data.
    """
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    zero, kind, n_dims = struct.unpack('>HBB', raw[:4])
    if zero != 0 or kind != 0x08:
        raise ExperimentError(f"{path} is not an IDX file of unsigned bytes; delete it to download it again")
    shape = struct.unpack(f'>{n_dims}I', raw[4:4 + 4 * n_dims])
    data = raw[4 + 4 * n_dims:]
    size = 1
    for s in shape:
        size *= s
    if len(data) != size:
        raise ExperimentError(f"{path} holds {len(data)} bytes of data, its header says {size}; delete it to "
                              f"download it again")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(shape)


def load_mnist(split: str = 'train', root: str = 'data', url: str = MNIST_URL,
               files: Dict[str, str] = MNIST_FILES) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    ## MNIST

    `split` is `train` (60,000 images) or `test` (10,000). Returns images
    `[N, 1, 28, 28]` in $[0, 1]$ and labels `[N]`.
    """
    if split not in ('train', 'test'):
        raise ExperimentError(f"MNIST has the splits train and test, not {split!r}")
    prefix = 'train' if split == 'train' else 't10k'
    paths = {}
    for kind, suffix in (('images', 'images-idx3-ubyte.gz'), ('labels', 'labels-idx1-ubyte.gz')):
        name = f'{prefix}-{suffix}'
        paths[kind] = fetch(url + name, Path(root) / 'mnist' / name, files[name], f'MNIST ({name})')
    images = read_idx(paths['images']).unsqueeze(1).float() / 255.0
    labels = read_idx(paths['labels']).long()
    if len(images) != len(labels):
        raise ExperimentError(f"MNIST {split}: {len(images)} images but {len(labels)} labels; delete "
                              f"{Path(root) / 'mnist'} to download it again")
    return images, labels


# ## CIFAR-10
#
# The binary version of [CIFAR-10](https://www.cs.toronto.edu/~kriz/cifar.html): each record
# is one label byte and $3 \times 32 \times 32$ pixel bytes (red, green, blue planes)
CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'
CIFAR10_SHA256 = 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd'
CIFAR10_BATCHES = {'train': [f'data_batch_{i}.bin' for i in range(1, 6)], 'test': ['test_batch.bin']}


def load_cifar10(split: str = 'train', root: str = 'data', url: str = CIFAR10_URL,
                 sha256: str = CIFAR10_SHA256) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    ## CIFAR-10

    `split` is `train` (50,000 images) or `test` (10,000). Returns images
    `[N, 3, 32, 32]` in $[0, 1]$ and labels `[N]`. The archive is read directly,
    without unpacking it.
    """
    if split not in CIFAR10_BATCHES:
        raise ExperimentError(f"CIFAR-10 has the splits train and test, not {split!r}")
    archive = fetch(url, Path(root) / 'cifar-10-binary.tar.gz', sha256, 'CIFAR-10')
    record = 1 + 3 * 32 * 32
    chunks = []
    with tarfile.open(archive, 'r:gz') as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        for name in CIFAR10_BATCHES[split]:
            if name not in members:
                raise ExperimentError(f"{archive} has no {name}; delete it to download it again")
            data = tar.extractfile(members[name]).read()
            if len(data) % record:
                raise ExperimentError(f"{name} in {archive} is not a whole number of records; delete it to "
                                      f"download it again")
            chunks.append(torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(-1, record))
    records = torch.cat(chunks)
    labels = records[:, 0].long()
    images = records[:, 1:].reshape(-1, 3, 32, 32).float() / 255.0
    return images, labels
