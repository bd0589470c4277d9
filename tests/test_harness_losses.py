"""Masking semantics, the ELR loss against a hand computation, and the on-device batch gather."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from synprobe.harness.data import DeviceData
from synprobe.harness.losses import ELRTargets, masked_logits, training_loss


@st.composite
def batches(draw):
    k = draw(st.integers(2, 12))
    b = draw(st.integers(1, 16))
    y = draw(st.lists(st.integers(0, k - 1), min_size=b, max_size=b))
    seed = draw(st.integers(0, 2**31 - 1))
    z = torch.randn(b, k, generator=torch.Generator().manual_seed(seed)) * 3
    return z, torch.tensor(y)


@given(batches())
@settings(max_examples=60, deadline=None)
def test_group_masking_excludes_exactly_the_absent_classes(batch):
    z, y = batch
    m = masked_logits(z, y, "group")
    present = torch.zeros(z.shape[1], dtype=torch.bool)
    present[y] = True
    assert torch.isneginf(m[:, ~present]).all()
    assert torch.equal(m[:, present], z[:, present])
    # the loss equals cross-entropy over the present classes only, relabelled
    cols = torch.nonzero(present).flatten()
    remap = torch.searchsorted(cols, y)
    ref = torch.nn.functional.cross_entropy(z[:, cols], remap)
    assert training_loss(z, y, "group").item() == pytest.approx(ref.item(), rel=1e-5, abs=1e-6)


@given(batches())
@settings(max_examples=40, deadline=None)
def test_masked_classes_get_no_gradient_and_predictions_are_untouched(batch):
    z, y = batch
    z = z.clone().requires_grad_(True)
    before = z.detach().argmax(1).clone()
    training_loss(z, y, "group").backward()
    absent = torch.ones(z.shape[1], dtype=torch.bool)
    absent[y] = False
    assert torch.all(z.grad[:, absent] == 0)
    assert torch.isfinite(z.grad).all()
    assert torch.equal(z.detach().argmax(1), before)  # masking never changes the logits themselves


def test_seen_masking_keeps_seen_and_minibatch_classes():
    z = torch.zeros(2, 5)
    seen = torch.tensor([True, False, False, True, False])
    m = masked_logits(z, torch.tensor([2, 2]), "seen", seen)
    assert torch.isneginf(m[0]).tolist() == [False, True, False, False, True]
    assert torch.equal(masked_logits(z, torch.tensor([1]), "none"), z)


def test_no_masking_is_plain_cross_entropy():
    z, y = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    assert training_loss(z, y, "none").item() == pytest.approx(torch.nn.functional.cross_entropy(z, y).item())


def test_elr_matches_a_hand_computation():
    z1 = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.5, 0.0]])
    z2 = torch.tensor([[1.0, 1.0, 0.0], [3.0, 0.0, 0.0]])
    y = torch.tensor([0, 1])
    pos = torch.tensor([4, 1])
    beta, lam = 0.7, 3.0
    elr = ELRTargets(6, 3, "cpu", beta, lam)
    t = np.zeros((6, 3))

    def ref(z):
        p = np.exp(z.numpy())
        p /= p.sum(1, keepdims=True)
        p = p.clip(1e-4, 1 - 1e-4)
        t[[4, 1]] = beta * t[[4, 1]] + (1 - beta) * p / p.sum(1, keepdims=True)
        ce = -np.log(np.exp(z.numpy())[np.arange(2), y.numpy()] / np.exp(z.numpy()).sum(1)).mean()
        return ce + lam * np.log(1 - (t[[4, 1]] * p).sum(1)).mean()

    for z in (z1, z2):
        got = training_loss(z, y, "none", elr=elr, pos=pos).item()
        assert got == pytest.approx(ref(z), rel=1e-5)
    assert np.allclose(elr.t.numpy(), t, atol=1e-6)
    assert elr.t[0].abs().sum() == 0  # untouched rows keep a zero target


def test_elr_gradient_pulls_towards_the_running_target():
    elr = ELRTargets(1, 2, "cpu", beta=0.0, lam=1.0)  # beta 0: target = current prediction
    z = torch.tensor([[1.0, 0.0]], requires_grad=True)
    elr.penalty(z, torch.tensor([0])).backward()
    # log(1 - <p, p>) decreases as p sharpens, so the gradient step increases the leading logit's margin
    assert z.grad[0, 0] < 0 < z.grad[0, 1]


@given(st.integers(0, 3), st.integers(1, 6), st.integers(0, 2**31 - 1))
@settings(max_examples=30, deadline=None)
def test_device_batch_normalises_and_shifts_whole_pixels(shift, b, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (8, 9, 7, 3), dtype=np.uint8)
    d = DeviceData(x, torch.device("cpu"))
    pos = torch.from_numpy(rng.integers(0, 8, b))
    plain = d.batch(pos)
    ref = (x[pos.numpy()].transpose(0, 3, 1, 2) / 255.0 - 0.5) / 0.5
    assert np.allclose(plain.numpy(), ref, atol=1e-6)
    g = torch.Generator().manual_seed(seed)
    out = d.batch(pos, shift, g).numpy()
    assert out.shape == ref.shape and out.dtype == np.float32
    for i in range(b):  # every output is the input shifted by one (dy, dx) in range, edges repeated
        hits = []
        for dy in range(-shift, shift + 1):
            for dx in range(-shift, shift + 1):
                r = np.clip(np.arange(9) + dy, 0, 8)
                c = np.clip(np.arange(7) + dx, 0, 6)
                hits.append(np.allclose(out[i], ref[i][:, r][:, :, c], atol=1e-6))
        assert any(hits)
    g1, g2 = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    assert torch.equal(d.batch(pos, shift, g1), d.batch(pos, shift, g2))
