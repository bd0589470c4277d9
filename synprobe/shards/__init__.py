"""Sharded generation: rows [a, b) of a recipe into shard files, the merge of shards into one
format-v1 file (the bytes of a local run), and the Ray driver behind ``--backend ray``.

    >>> from synprobe.shards import generate_shard, merge_shards            # doctest: +SKIP
    >>> generate_shard("default", 1000, 0, 500, "s0.h5")                      # doctest: +SKIP
    >>> generate_shard("default", 1000, 500, 1000, "s1.h5")                   # doctest: +SKIP
    >>> merge_shards(["s0.h5", "s1.h5"], "default.h5")                        # doctest: +SKIP

``_shard`` holds the shard files (render, write, read, verify), ``_merge`` the merge, ``_ray``
the driver (Ray imported on use: the ``ray`` extra).
"""

from synprobe.shards._merge import merge_shards
from synprobe.shards._ray import generate_ray
from synprobe.shards._shard import SHARD_FORMAT, ShardInfo, generate_shard, read_shard, shard_ranges, verify_shard

__all__ = [
    "SHARD_FORMAT",
    "ShardInfo",
    "generate_ray",
    "generate_shard",
    "merge_shards",
    "read_shard",
    "shard_ranges",
    "verify_shard",
]
