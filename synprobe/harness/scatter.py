"""Per-row state updated by index with repeated positions: defined results, the same on every device.

A minibatch can hold one image position twice (reservoir replay keeps a row twice; replayed rows can
overlap the task's own; ``--tail wrap`` repeats rows of a small task). A plain ``state[pos] = value``
then has several writers for one element: the last one wins on the CPU, and which one wins is
unspecified on CUDA. These helpers first reduce the duplicates with order-independent reductions
(``scatter_reduce`` with ``amax`` over integers, exact in any order), so that every writer of an element
writes the same value and the result does not depend on the device or the thread count:

* :func:`last_occurrence` -- for each entry, the index of the last entry with the same position
  ("the last occurrence in minibatch order wins", which is what the CPU did).
* :class:`PresentationEvents` -- Toneva et al.'s forgetting-event counters over presentations.

    >>> import torch
    >>> from synprobe.harness.scatter import last_occurrence
    >>> last_occurrence(torch.tensor([3, 1, 3, 3]), torch.zeros(5, dtype=torch.int64)).tolist()
    [3, 1, 3, 3]
"""

from __future__ import annotations

__all__ = ["PresentationEvents", "last_occurrence"]


def last_occurrence(pos, scratch):
    """Index of the last entry of ``pos`` holding the same position as each entry.

    Args:
        pos: int64 (B,) positions into a state of ``n`` rows, repeats allowed.
        scratch: int64 (n,) buffer on ``pos``'s device; its values at ``pos`` are overwritten.

    Returns:
        int64 (B,) ``w`` with ``pos[w[i]] == pos[i]`` and ``w[i]`` the largest such index.
    """
    import torch

    idx = torch.arange(len(pos), device=pos.device)
    scratch.scatter_reduce_(0, pos, idx, "amax", include_self=False)
    return scratch.index_select(0, pos)


class PresentationEvents:
    """Forgetting events (Toneva et al. 2019) of ``n`` rows, counted over training presentations, on the device.

    Each occurrence of a row in a minibatch is one presentation. Within a minibatch every occurrence is judged
    against the state before the minibatch: a forgetting event is an occurrence classified wrongly whose row was
    classified correctly at its previous presentation. After the minibatch, ``last`` is the result of the row's
    last occurrence in minibatch order and ``learned`` is set if any occurrence was correct. (Without random
    augmentation the occurrences of one row in one minibatch share one prediction, so these choices only matter
    with ``--augment``.)

    Attributes:
        count: int64 (n,) forgetting events; ``presentations``: int64 (n,); ``learned``, ``last``: bool (n,).
    """

    def __init__(self, n: int, device):
        import torch

        self.count = torch.zeros(n, dtype=torch.int64, device=device)
        self.presentations = torch.zeros(n, dtype=torch.int64, device=device)
        self.last = torch.zeros(n, dtype=torch.bool, device=device)  # correct at the last presentation
        self.learned = torch.zeros(n, dtype=torch.bool, device=device)  # correct at some presentation
        self._scratch = torch.zeros(n, dtype=torch.int64, device=device)

    def update(self, pos, ok) -> None:
        """Record one minibatch: ``pos`` int64 (B,) rows (repeats allowed), ``ok`` bool (B,) correct or not."""
        import torch

        was = self.last.index_select(0, pos)
        self.count.index_add_(0, pos, (was & ~ok).long())
        self.presentations.index_add_(0, pos, torch.ones_like(pos))
        self.last.index_put_((pos,), ok.index_select(0, last_occurrence(pos, self._scratch)))
        any_ok = self._scratch.scatter_reduce_(0, pos, ok.long(), "amax", include_self=False).index_select(0, pos)
        self.learned.index_put_((pos,), self.learned.index_select(0, pos) | any_ok.bool())

