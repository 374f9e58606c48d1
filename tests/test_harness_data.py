"""Tests of the harness's data modules: the bundled digits, MNIST and CIFAR-10 loaders on files the test writes
(served from file:// URLs, never downloaded), the 2-D toy distributions and the resumable sampler."""

import gzip
import hashlib
import io
import math
import struct
import tarfile

import pytest
import torch

from labml_nn.experiments.data import digits, toy_2d
from labml_nn.experiments.data.download import fetch
from labml_nn.experiments.data.sampler import ShuffledBatches
from labml_nn.experiments.errors import ExperimentError


# ## Digits

def test_digits_splits_are_fixed_disjoint_and_complete():
    from sklearn.datasets import load_digits as sk
    data = sk()
    splits = {s: digits.load_digits(s, seed=0) for s in digits.SPLITS}
    assert [len(splits[s][1]) for s in digits.SPLITS] == [1257, 270, 270]
    for images, labels in splits.values():
        assert images.dtype == torch.float32 and labels.dtype == torch.int64
        assert images.shape[1:] == (1, 8, 8)
        assert images.min() >= 0 and images.max() <= 1
    # Every image is one of sklearn's, with its label, and together they are all 1,797 exactly once
    every = torch.tensor(data.images, dtype=torch.float32).reshape(1797, 64) / 16
    keys = {tuple(row.tolist()): [] for row in every}
    for i, row in enumerate(every):
        keys[tuple(row.tolist())].append(int(data.target[i]))
    seen = []
    for images, labels in splits.values():
        for img, label in zip(images.reshape(-1, 64), labels):
            assert int(label) in keys[tuple(img.tolist())]
            seen.append(tuple(img.tolist()))
    assert sorted(seen) == sorted(tuple(r.tolist()) for r in every)
    # The same seed gives the same split, another seed another one
    assert torch.equal(digits.load_digits('valid', seed=0)[0], splits['valid'][0])
    assert not torch.equal(digits.load_digits('valid', seed=1)[0], splits['valid'][0])
    ds = digits.Digits('test')
    assert len(ds) == 270 and ds[0][0].shape == (1, 8, 8)
    with pytest.raises(ExperimentError, match='split must be one of train, valid, test'):
        digits.load_digits('training')


def idx_bytes(array: torch.Tensor) -> bytes:
    header = struct.pack('>HBB', 0, 0x08, array.dim()) + struct.pack(f'>{array.dim()}I', *array.shape)
    return gzip.compress(header + bytes(array.flatten().tolist()))


def test_mnist_loader_downloads_once_and_checks(tmp_path):
    # A tiny MNIST of 3 training and 2 test images, written by the test and served from file:// URLs
    server = tmp_path / 'server'
    server.mkdir()
    g = torch.Generator().manual_seed(0)
    files, data = {}, {}
    for prefix, n in (('train', 3), ('t10k', 2)):
        images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
        labels = torch.randint(0, 10, (n,), generator=g, dtype=torch.uint8)
        data[prefix] = images, labels
        for name, array in ((f'{prefix}-images-idx3-ubyte.gz', images), (f'{prefix}-labels-idx1-ubyte.gz', labels)):
            (server / name).write_bytes(idx_bytes(array))
            files[name] = hashlib.sha256((server / name).read_bytes()).hexdigest()
    url = server.as_uri() + '/'
    root = tmp_path / 'data'
    images, labels = digits.load_mnist('train', root=str(root), url=url, files=files)
    assert images.shape == (3, 1, 28, 28) and labels.tolist() == data['train'][1].long().tolist()
    assert torch.allclose(images[:, 0] * 255, data['train'][0].float())
    # The second time, the files on disk are used: the server is gone
    for f in server.iterdir():
        f.unlink()
    again, _ = digits.load_mnist('train', root=str(root), url=url, files=files)
    assert torch.equal(again, images)
    # The test split was never downloaded and the server is gone: one line that says where to put the file
    with pytest.raises(ExperimentError, match='could not download MNIST .*t10k-images.*; download it yourself'):
        digits.load_mnist('test', root=str(root), url=url, files=files)
    # A damaged copy on disk is refused, not used
    path = root / 'mnist' / 'train-images-idx3-ubyte.gz'
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ExperimentError, match='not the expected .* delete it to download it again'):
        digits.load_mnist('train', root=str(root), url=url, files=files)
    with pytest.raises(ExperimentError, match='splits train and test'):
        digits.load_mnist('valid', root=str(root))


def test_cifar10_loader_reads_the_binary_archive(tmp_path):
    g = torch.Generator().manual_seed(1)
    record = 1 + 3 * 32 * 32
    buf = io.BytesIO()
    expected = {}
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name in digits.CIFAR10_BATCHES['train'] + digits.CIFAR10_BATCHES['test']:
            n = 2
            rec = torch.randint(0, 256, (n, record), generator=g, dtype=torch.uint8)
            rec[:, 0] = rec[:, 0] % 10
            expected[name] = rec
            raw = bytes(rec.flatten().tolist())
            info = tarfile.TarInfo(f'cifar-10-batches-bin/{name}')
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    server = tmp_path / 'cifar.tar.gz'
    server.write_bytes(buf.getvalue())
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    images, labels = digits.load_cifar10('train', root=str(tmp_path / 'data'), url=server.as_uri(), sha256=sha)
    assert images.shape == (10, 3, 32, 32) and labels.shape == (10,)
    first = expected['data_batch_1.bin'][0]
    assert labels[0] == first[0]
    # Channel-major: the first 1,024 pixel bytes are the red plane
    assert torch.allclose(images[0, 0] * 255, first[1:1025].float().reshape(32, 32))
    test_images, _ = digits.load_cifar10('test', root=str(tmp_path / 'data'), url=server.as_uri(), sha256=sha)
    assert test_images.shape == (2, 3, 32, 32)
    # A download whose checksum does not match leaves nothing behind
    other = tmp_path / 'other'
    with pytest.raises(ExperimentError, match='has SHA-256 .* not the expected'):
        digits.load_cifar10('train', root=str(other), url=server.as_uri(), sha256='0' * 64)
    assert list(other.iterdir()) == []


def test_fetch_never_touches_the_network_when_the_file_is_there(tmp_path, monkeypatch):
    import urllib.request
    path = tmp_path / 'f.bin'
    path.write_bytes(b'abc')

    def no_network(*a, **k):
        raise AssertionError('network used')
    monkeypatch.setattr(urllib.request, 'urlopen', no_network)
    assert fetch('https://example.invalid/f.bin', path, hashlib.sha256(b'abc').hexdigest(), 'f') == path


# ## Toy distributions

@pytest.mark.parametrize('name', sorted(toy_2d.TOYS))
def test_toy_distributions(name):
    x = toy_2d.sample_toy(name, 4000, torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2) and x.dtype == torch.float32
    assert x.abs().max() < 3.5
    assert x.mean(0).abs().max() < 0.5
    # The generator decides everything
    assert torch.equal(x, toy_2d.sample_toy(name, 4000, torch.Generator().manual_seed(0)))
    assert not torch.equal(x, toy_2d.sample_toy(name, 4000, torch.Generator().manual_seed(1)))


def test_toy_shapes():
    g = torch.Generator().manual_seed(0)
    # Ring: 8 clusters at radius 2
    x = toy_2d.ring(8000, g)
    r = x.norm(dim=1)
    assert (r - 2).abs().mean() < 0.1
    angle = torch.atan2(x[:, 1], x[:, 0]) % (2 * math.pi)
    k = torch.round(angle / (2 * math.pi / 8)) % 8
    counts = torch.bincount(k.long(), minlength=8)
    assert counts.min() > 800
    # Swiss roll: the radius grows with the angle along the spiral, between 1.5 pi / 5 and 4.5 pi / 5
    s = toy_2d.swiss_roll(2000, g, noise=0.0)
    assert s.norm(dim=1).min() >= 1.5 * math.pi / 5 - 1e-5 and s.norm(dim=1).max() <= 4.5 * math.pi / 5 + 1e-5
    # Moons without noise lie on their two unit half circles
    m = toy_2d.moons(2000, g, noise=0.0) / 1.5 + torch.tensor([0.5, 0.25])
    upper = (m - torch.tensor([0.0, 0.0])).norm(dim=1)
    lower = (m - torch.tensor([1.0, 0.5])).norm(dim=1)
    assert torch.minimum((upper - 1).abs(), (lower - 1).abs()).max() < 1e-5
    with pytest.raises(ExperimentError, match='unknown toy distribution'):
        toy_2d.sample_toy('spiral', 10, g)


def test_ring_log_prob_is_the_mixture_density():
    x = torch.tensor([[2.0, 0.0], [0.0, 0.0], [1.3, 1.4]], dtype=torch.float64)
    std, modes = 0.1, 8
    expected = []
    for p in x:
        total = 0.0
        for k in range(modes):
            c = torch.tensor([2 * math.cos(2 * math.pi * k / modes), 2 * math.sin(2 * math.pi * k / modes)],
                             dtype=torch.float64)
            total += math.exp(-((p - c) ** 2).sum().item() / (2 * std ** 2)) / (2 * math.pi * std ** 2) / modes
        expected.append(math.log(total) if total > 0 else -math.inf)
    got = toy_2d.ring_log_prob(x)
    assert got[0].item() == pytest.approx(expected[0], rel=1e-9)
    assert got[2].item() == pytest.approx(expected[2], rel=1e-9)
    assert got[1].item() < -150


# ## Resumable batches

def test_shuffled_batches_resume_exactly():
    a = ShuffledBatches(10, 4, seed=3)
    first = [a.next() for _ in range(7)]
    # Every epoch is a permutation cut into whole batches (the last 2 of the 10 are dropped)
    assert all(len(b) == 4 for b in first)
    assert len(set(torch.cat(first[:2]).tolist())) == 8
    state = a.state_dict()
    rest = [a.next() for _ in range(9)]
    b = ShuffledBatches(10, 4, seed=99)
    b.load_state_dict(state)
    assert all(torch.equal(x, y) for x, y in zip(rest, [b.next() for _ in range(9)]))
    c = ShuffledBatches(10, 4, seed=3, drop_last=False)
    sizes = [len(c.next()) for _ in range(6)]
    assert sizes == [4, 4, 2, 4, 4, 2]
    with pytest.raises(ExperimentError, match='larger than'):
        ShuffledBatches(3, 4)
