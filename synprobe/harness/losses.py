"""Training losses: cross-entropy with output masking, and early-learning regularisation (ELR).

Masking changes the loss (hence the gradients) only; predictions and evaluation always use the
unmasked logits, as in SCoLe's code.

* ``group`` (SCoLe): logits of classes absent from the minibatch are excluded from the softmax.
* ``seen`` (Avalanche's ``IncrementalClassifier(masking=True)``): logits of classes never seen in
  training so far are excluded.

ELR (Liu et al., NeurIPS 2020): ``CE + lambda * mean_i log(1 - <t_i, p_i>)`` where ``p_i`` is the
softmax of sample i (clamped to [1e-4, 1 - 1e-4]) and ``t_i`` a per-sample running target,
``t_i <- beta * t_i + (1 - beta) * p_i / sum(p_i)`` updated with the detached prediction each time
sample i is in a minibatch. A sample present several times in one minibatch gets the update of its last
occurrence (each occurrence's update starts from the target before the minibatch), on every device
(:func:`synprobe.harness.scatter.last_occurrence`).
"""

from __future__ import annotations

from synprobe.harness.scatter import last_occurrence

__all__ = ["ELRTargets", "masked_logits", "training_loss"]


def masked_logits(logits, y, masking: str, seen=None):
    """``logits`` with excluded classes set to -inf along dim 1 (float32 copy).

    Args:
        logits: (B, K) float tensor.
        y: (B,) int64 labels of the minibatch.
        masking: "none", "group" or "seen".
        seen: (K,) bool tensor of classes seen in training so far (for "seen").
    """
    import torch

    z = logits.float()
    if masking == "none":
        return z
    if masking == "group":
        keep = torch.zeros(z.shape[1], dtype=torch.bool, device=z.device)
        keep[y] = True
    elif masking == "seen":
        keep = seen.clone()
        keep[y] = True  # the minibatch's own classes are seen by definition
    else:
        raise ValueError(masking)
    return z.masked_fill(~keep, float("-inf"))


class ELRTargets:
    """Per-sample running targets of ELR, one row per image position, on the device."""

    def __init__(self, n: int, k: int, device, beta: float, lam: float):
        import torch

        self.t = torch.zeros(n, k, dtype=torch.float32, device=device)
        self.beta, self.lam = beta, lam
        self._scratch = torch.zeros(n, dtype=torch.int64, device=device)

    def penalty(self, logits, pos):
        """ELR's regulariser for the minibatch at positions ``pos``; updates their targets."""
        import torch

        p = torch.softmax(logits.float(), dim=1).clamp(1e-4, 1.0 - 1e-4)
        with torch.no_grad():
            q = p / p.sum(1, keepdim=True)
            new = self.beta * self.t.index_select(0, pos) + (1.0 - self.beta) * q
            new = new.index_select(0, last_occurrence(pos, self._scratch))  # every writer of a row writes the same
            self.t.index_put_((pos,), new)
        return self.lam * torch.log1p(-(new * p).sum(1)).mean()

    def state(self) -> dict:
        return {"targets": self.t.cpu()}


def training_loss(logits, y, masking: str, seen=None, elr: ELRTargets | None = None, pos=None):
    """Mean training loss of a minibatch: masked cross-entropy, plus ELR's term when ``elr`` is given."""
    import torch.nn.functional as F

    loss = F.cross_entropy(masked_logits(logits, y, masking, seen), y)
    if elr is not None:
        loss = loss + elr.penalty(logits, pos)
    return loss
