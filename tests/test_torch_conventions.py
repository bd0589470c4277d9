"""``Dataset.torch()`` follows torchvision's conventions: ``targets``, ``classes``,
``class_to_idx``, ``transform``/``target_transform``, float32 or PIL images for old-style
transforms; a lazy dataset feeds ``spawn`` DataLoader workers without a pickled copy of the images.
"""

from __future__ import annotations

import pickle

import pytest

from synprobe.errors import SynprobeError
from synprobe.load import LoadError, load

torch = pytest.importorskip("torch", reason="torch not installed: pip install -e '.[train]'")
transforms = pytest.importorskip(
    "torchvision.transforms", reason="torchvision not installed: pip install -e '.[train]'"
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An RGB file (default recipe, 12x12) and a gray one (tiny recipe, 8x8), uncompressed."""
    from synprobe.generator import generate

    d = tmp_path_factory.mktemp("tv")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", "0")
        generate("default", 96, d / "rgb.h5", workers=1, resolution=12, seed=2)
        generate("tiny", 96, d / "gray.h5", workers=1, seed=2)
    return d / "rgb.h5", d / "gray.h5"


def test_targets_classes_and_class_to_idx(files):
    ds = load(files[0], "train", target="font")
    td = ds.torch()
    assert td.targets.dtype == torch.int64 and td.targets.tolist() == ds.y.tolist()
    assert td.classes == list(ds.classes) and all(isinstance(c, str) for c in td.classes)
    assert td.class_to_idx == {c: i for i, c in enumerate(ds.classes)}
    assert [td.classes[t] for t in td.targets.tolist()[:10]] == list(ds.decode("font")[:10])
    td.targets = td.targets % 2  # relabelled in place, as torchvision's datasets allow
    assert td[4][1] == int(ds.y[4]) % 2
    reg = load(files[0], "val", target="scale").torch()
    assert reg.classes == [] and reg.class_to_idx == {} and reg.targets.dtype == torch.float64


@pytest.mark.parametrize("which", [0, 1])
def test_float32_and_pil_images_match_to_tensor(files, which):
    ds = load(files[which], "train")
    c = ds.x.shape[3]
    u8, f32, pil = (ds.torch(image=k)[5][0] for k in ("uint8", "float32", "pil"))
    assert pil.mode == ("RGB" if c == 3 else "L") and pil.size == ds.x.shape[2:0:-1]
    want = transforms.ToTensor()(pil)  # old-style transforms take PIL images
    assert f32.dtype == torch.float32 and torch.equal(f32, want) and torch.equal(u8.float() / 255, want)
    norm = ds.torch(
        transform=transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5] * c, [0.5] * c)]), image="pil"
    )
    assert torch.allclose(norm[5][0], want * 2 - 1)


def test_transform_and_target_transform(files):
    ds = load(files[0], "train")
    td = ds.torch(transform=lambda im: im.flip(-1), target_transform=lambda t: t + 1000, image="float32")
    img, t = td[3]
    assert t == int(ds.y[3]) + 1000 and torch.equal(
        img, torch.from_numpy(ds.x[3][:, ::-1].copy()).permute(2, 0, 1) / 255
    )


def test_unknown_image_kind_is_one_line(files):
    with pytest.raises(LoadError) as e:
        load(files[0], "val").torch(image="float")
    assert isinstance(e.value, SynprobeError) and "'uint8', 'float32', 'pil'" in str(e.value)


def test_lazy_torch_items_and_pickle_size(files):
    eager, lazy = load(files[0], "train").torch(), load(files[0], "train", lazy=True).torch(image="uint8")
    assert len(lazy) == len(eager) and torch.equal(lazy.targets, eager.targets)
    for i in (0, 7, len(eager) - 1):
        assert torch.equal(lazy[i][0], eager[i][0]) and lazy[i][1] == eager[i][1]
    small, big = len(pickle.dumps(lazy)), len(pickle.dumps(eager))
    assert small < 16 * len(lazy) + 4096 < eager.x.nbytes < big  # targets, row numbers, names: no pixels


def test_spawn_workers_give_the_same_batches(files):
    """num_workers=2 under spawn (the dataset is pickled to each worker) == num_workers=0."""
    from torch.utils.data import DataLoader

    lazy = load(files[0], "train", lazy=True).torch(image="float32")

    def batches(ds, **kw):
        return [(x.clone(), y.clone()) for x, y in DataLoader(ds, batch_size=16, **kw)]

    want = batches(load(files[0], "train").torch(image="float32"))
    got = batches(lazy, num_workers=2, multiprocessing_context="spawn")
    assert len(got) == len(want)
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(got, want))
