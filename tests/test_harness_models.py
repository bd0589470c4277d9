"""synprobe.harness.models: output shapes, gradients, init determinism, parameter counts and error messages."""

from __future__ import annotations

import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from synprobe.errors import SynprobeError
from synprobe.harness import models
from synprobe.harness.errors import HarnessError
from synprobe.harness.models import (
    Classifier,
    build_model,
    count_parameters,
    list_models,
    model_info,
    register_model,
)

BUILTIN = ["linear", "mlp", "resnet18", "resnet20", "scole_cnn"]
MIN_SIZE = {"linear": 1, "mlp": 1, "resnet18": 9, "resnet20": 5, "scole_cnn": 16}
SHAPES = [(3, 32, 32), (3, 64, 64), (3, 24, 40), (1, 32, 32), (1, 16, 20)]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models on a shared 2-core box: one intra-op thread is faster and does not disturb others."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made by a test go into a copy of the registry and vanish afterwards."""
    monkeypatch.setattr(models, "_REGISTRY", dict(models._REGISTRY))


def _batch(b, shape, seed=0):
    return torch.randn((b, *shape), generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------- registry


def test_list_models_is_sorted_and_holds_the_builtins():
    assert list_models() == sorted(list_models())
    assert set(BUILTIN) <= set(list_models())


@pytest.mark.parametrize("name", BUILTIN)
def test_model_info_is_one_line_with_options_and_min_size(name):
    info = model_info(name)
    assert info.startswith(f"{name}: ") and "\n" not in info
    assert f"needs H, W >= {MIN_SIZE[name]}" in info
    assert {"scole_cnn": "hidden=50, dropout=0.0", "resnet20": "depth=20, width=16", "resnet18": "(none)"}.get(
        name, ""
    ) in info


# ---------------------------------------------------------------------------------------------- forward / backward


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", BUILTIN)
def test_forward_gives_finite_logits_of_the_right_shape(name, shape):
    torch.manual_seed(0)
    model = build_model(name, shape, 7)
    out = model(_batch(3, shape))
    assert out.shape == (3, 7) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert isinstance(model.head, nn.Linear) and model.head.out_features == 7
    assert model.body(_batch(2, shape)).shape == (2, model.head.in_features)


@pytest.mark.parametrize("name", BUILTIN)
def test_smallest_allowed_input_trains_at_batch_size_one(name):
    s = MIN_SIZE[name]
    model = build_model(name, (2, s, s + 3), 4)
    out = model(_batch(1, (2, s, s + 3)))  # training mode: BatchNorm needs > 1 value per channel
    assert out.shape == (1, 4) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", BUILTIN)
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(1)
    shape = (3, 16, 20)
    model = build_model(name, shape, 5)
    model(_batch(4, shape)).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", BUILTIN)
def test_eval_output_of_a_sample_does_not_depend_on_its_batch(name):
    torch.manual_seed(2)
    shape = (3, 16, 16)
    model = build_model(name, shape, 6).eval()
    x = _batch(4, shape)
    with torch.inference_mode():
        whole = model(x)
        alone = torch.cat([model(x[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(whole, alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", BUILTIN)
def test_works_under_autocast_and_inference_mode(name):
    shape = (3, 16, 24)
    model = build_model(name, shape, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(_batch(2, shape))
    assert out.shape == (2, 3) and torch.isfinite(out.float()).all()
    model.eval()
    with torch.inference_mode():
        out = model(_batch(2, shape))
    assert out.shape == (2, 3) and torch.isfinite(out).all() and not out.requires_grad


@pytest.mark.parametrize("name", BUILTIN)
def test_same_seed_same_initial_weights(name):
    def state(seed):
        torch.manual_seed(seed)
        return build_model(name, (3, 16, 16), 4).state_dict()

    a, b, c = state(5), state(5), state(6)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


# ---------------------------------------------------------------------------------------------- architectures


def test_resnet20_parameter_count():
    model = build_model("resnet20", (3, 32, 32), 10)
    # Option A (zero-padding shortcuts) gives 269,722; the two 1x1 conv+BN projections add 16*32 + 32*64 + 2*(32+64).
    assert count_parameters(model) == 269_722 + 16 * 32 + 32 * 64 + 2 * (32 + 64) == 272_474
    assert model.head.in_features == 64


@pytest.mark.parametrize("depth", [8, 14, 20, 32, 44])
def test_resnet_depth_sets_the_number_of_blocks(depth):
    model = build_model("resnet20", (3, 8, 8), 10, depth=depth)
    blocks = [m for m in model.modules() if isinstance(m, models._BasicBlock)]
    assert len(blocks) == 3 * (depth - 2) // 6
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) + 1 == depth  # 3x3 convs + the head = depth weighted layers


def test_resnet20_width_scales_channels():
    model = build_model("resnet20", (1, 8, 8), 10, width=8)
    assert model.head.in_features == 32 and model.body[0].in_channels == 1


@pytest.mark.parametrize("depth", [21, 7, 2, 0, -4, "20", 20.0, True])
def test_resnet_bad_depth_names_the_valid_depths(depth):
    with pytest.raises(HarnessError, match=r"resnet20.*depth=.*6n\+2.*20, 32, 44, 56, 110"):
        build_model("resnet20", (3, 32, 32), 10, depth=depth)


@pytest.mark.parametrize(("size", "flat"), [(16, 20), (28, 320), (32, 500)])
def test_scole_cnn_flatten_size(size, flat):
    model = build_model("scole_cnn", (1, size, size), 10)
    assert model.body[7].in_features == flat and model.body[7].out_features == 50


def test_scole_cnn_options():
    model = build_model("scole_cnn", (3, 32, 32), 10, hidden=64, dropout=0.5)
    assert model.head.in_features == 64
    assert any(isinstance(m, nn.Dropout) and m.p == 0.5 for m in model.modules())


def test_mlp_hidden_layers_and_linear_count():
    model = build_model("mlp", (2, 4, 5), 3, hidden=[16, 8, 4])
    widths = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    assert widths == [16, 8, 4, 3]
    assert count_parameters(build_model("linear", (2, 4, 5), 3)) == 2 * 4 * 5 * 3 + 3


def test_resnet18_is_adapted_to_small_images():
    model = build_model("resnet18", (1, 32, 32), 10)
    conv1 = model.body.conv1
    assert (conv1.in_channels, conv1.kernel_size, conv1.stride, conv1.padding) == (1, (3, 3), (1, 1), (1, 1))
    assert isinstance(model.body.maxpool, nn.Identity) and isinstance(model.body.fc, nn.Identity)
    assert model.head.in_features == 512


def test_resnet18_without_torchvision_says_how_to_install(monkeypatch):
    for mod in ("torchvision", "torchvision.models"):  # None in sys.modules makes the import fail
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(HarnessError, match=r"needs torchvision: pip install -e '\.\[train\]' \(from the synprobe"):
        build_model("resnet18", (3, 32, 32), 10)


def test_count_parameters_trainable_only():
    model = build_model("mlp", (1, 4, 4), 2, hidden=(8,))
    model.body.requires_grad_(False)
    assert count_parameters(model) == 16 * 8 + 8 + 8 * 2 + 2
    assert count_parameters(model, trainable_only=True) == 8 * 2 + 2


# ---------------------------------------------------------------------------------------------- errors


def test_unknown_model_lists_the_names_and_suggests_one():
    with pytest.raises(HarnessError, match="resnet") as info:
        build_model("resnet", (3, 32, 32), 10)
    msg = str(info.value)
    assert "linear, mlp, resnet18, resnet20, scole_cnn" in msg and "did you mean 'resnet20'" in msg
    assert isinstance(info.value, SynprobeError) and isinstance(info.value, ValueError)
    with pytest.raises(HarnessError, match="expected one of"):
        model_info("vgg16")


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("mlp", {"hiden": 3}, r"model 'mlp' got unknown option 'hiden'; accepted options: hidden=\(256, 256\)"),
        ("scole_cnn", {"depth": 20}, r"'scole_cnn'.*'depth'.*hidden=50, dropout=0.0"),
        ("resnet20", {"widht": 8}, r"'resnet20'.*'widht'.*depth=20, width=16 \(did you mean 'width'\?\)"),
        ("resnet18", {"depth": 34}, r"'resnet18'.*'depth'.*accepted options: \(none\)"),
        ("linear", {"hidden": 3}, r"'linear'.*'hidden'.*\(none\)"),
    ],
)
def test_unknown_option_names_model_key_and_accepted_keys(name, kwargs, expected):
    with pytest.raises(HarnessError, match=expected):
        build_model(name, (3, 32, 32), 10, **kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("scole_cnn", {"dropout": 1.5}, r"dropout=1.5.*\[0, 1\)"),
        ("scole_cnn", {"hidden": 0}, r"hidden=0.*int >= 1"),
        ("mlp", {"hidden": (64, 0)}, r"hidden=\(64, 0\).*ints >= 1"),
        ("mlp", {"hidden": "64"}, r"hidden='64'"),
        ("resnet20", {"width": 2.0}, r"width=2.0.*int >= 1"),
    ],
)
def test_invalid_option_values(name, kwargs, expected):
    with pytest.raises(HarnessError, match=f"model '{name}' option {expected}"):
        build_model(name, (3, 32, 32), 10, **kwargs)


@pytest.mark.parametrize(("name", "min_size"), sorted(MIN_SIZE.items()))
def test_too_small_input_names_the_minimum(name, min_size):
    if min_size == 1:
        pytest.raises(HarnessError, build_model, name, (3, 0, 8), 10)
        return
    for shape in [(3, min_size - 1, 32), (3, 32, min_size - 1)]:
        with pytest.raises(HarnessError, match=rf"too small for model '{name}': it needs H and W >= {min_size}"):
            build_model(name, shape, 10)


@pytest.mark.parametrize(
    "shape", [(0, 32, 32), (3, -1, 32), (3, 32), (3, 32, 32, 1), (3.0, 32, 32), (True, 32, 32), 32]
)
def test_bad_in_shape(shape):
    with pytest.raises(HarnessError, match=r"in_shape must be 3 (positive )?ints \(C, H, W\)"):
        build_model("mlp", shape, 10)


@pytest.mark.parametrize("n_classes", [0, -1, 2.0, True, "10"])
def test_bad_n_classes(n_classes):
    with pytest.raises(HarnessError, match="n_classes must be an int >= 1"):
        build_model("linear", (1, 8, 8), n_classes)


# ---------------------------------------------------------------------------------------------- user models


def test_user_model_is_buildable_and_its_options_checked(scratch_registry):
    @register_model("tiny_user", min_size=4)
    def tiny(in_shape, n_classes, *, width=8):
        """A tiny user model."""
        c, h, w = in_shape
        return Classifier(nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, width)), nn.Linear(width, n_classes))

    assert "tiny_user" in list_models()
    assert model_info("tiny_user") == "tiny_user: A tiny user model; options: width=8; needs H, W >= 4"
    model = build_model("tiny_user", (2, 4, 6), 3, width=5)
    assert model(_batch(2, (2, 4, 6))).shape == (2, 3) and model.head.in_features == 5
    with pytest.raises(HarnessError, match="'tiny_user' got unknown option 'wdth'; accepted options: width=8"):
        build_model("tiny_user", (2, 4, 6), 3, wdth=5)
    with pytest.raises(HarnessError, match="needs H and W >= 4"):
        build_model("tiny_user", (2, 3, 6), 3)


def test_duplicate_names_are_refused(scratch_registry):
    with pytest.raises(HarnessError, match="'mlp' is already registered"):
        register_model("mlp")
    register_model("dup_user")(lambda in_shape, n_classes: Classifier(nn.Flatten(), nn.Linear(1, n_classes)))
    with pytest.raises(HarnessError, match="'dup_user' is already registered"):
        register_model("dup_user")


@pytest.mark.parametrize("bad", ["", " x", None, 3])
def test_bad_registration_names(scratch_registry, bad):
    with pytest.raises(HarnessError, match="model name must be a non-empty string"):
        register_model(bad)


def test_builder_contract_is_enforced(scratch_registry):
    @register_model("headless")
    def headless(in_shape, n_classes):
        return nn.Sequential(nn.Flatten(), nn.Linear(4, n_classes))

    @register_model("needs_opt")
    def needs_opt(in_shape, n_classes, *, k):
        return Classifier(nn.Flatten(), nn.Linear(4, n_classes))

    @register_model("anything")
    def anything(in_shape, n_classes, **opts):
        return Classifier(nn.Flatten(), nn.Linear(4, n_classes))

    with pytest.raises(HarnessError, match=r"'headless' must return an nn.Module whose .head is an nn.Linear"):
        build_model("headless", (1, 2, 2), 3)
    with pytest.raises(HarnessError, match=r"'needs_opt': bad options \{\}.*missing.*'k'.*accepted options: k"):
        build_model("needs_opt", (1, 2, 2), 3)
    assert build_model("anything", (1, 2, 2), 3, whatever=1).head.out_features == 3


# ---------------------------------------------------------------------------------------------- properties


@settings(max_examples=10, deadline=None)
@given(
    name=st.sampled_from(BUILTIN),
    c=st.integers(1, 4),
    extra_h=st.integers(0, 12),
    extra_w=st.integers(0, 12),
    n_classes=st.integers(1, 60),
    b=st.integers(1, 5),
)
def test_output_shape_property(name, c, extra_h, extra_w, n_classes, b):
    shape = (c, MIN_SIZE[name] + extra_h, MIN_SIZE[name] + extra_w)
    model = build_model(name, shape, n_classes)
    out = model(_batch(b, shape))
    assert out.shape == (b, n_classes) and torch.isfinite(out).all()


@given(st.integers(1, 3), st.integers(1, 4), st.integers(2, 13), st.integers(2, 13), st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_maxpool2x2_equals_max_pool2d_in_both_modes(b, c, h, w, seed):
    from synprobe.harness.models import MaxPool2x2

    x = torch.randn(b, c, h, w, generator=torch.Generator().manual_seed(seed))
    for xx in (x, x.contiguous(memory_format=torch.channels_last)):
        ref = torch.nn.functional.max_pool2d(xx, 2)
        with torch.inference_mode():
            assert torch.equal(MaxPool2x2()(xx), ref)
        g = xx.clone().requires_grad_(True)
        out = MaxPool2x2()(g)
        assert torch.equal(out.detach(), ref)
        out.sum().backward()
        assert g.grad.sum().item() == out.numel()  # one unit of gradient per pooled value
