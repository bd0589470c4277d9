"""Named datasets: a catalog, a verified download cache, and local generation on a miss.

    >>> from synprobe.datasets import fetch, list_catalog
    >>> sorted(list_catalog())[:3]                                  # doctest: +SKIP
    ['camouflage', 'counting', 'default']
    >>> path = fetch("default-1k")       # cached HDF5 file (format v1)  # doctest: +SKIP

How :func:`fetch` gets a catalog entry (one private module a step, in this order):

1. catalog  ``synprobe/catalog.toml`` plus the tables of ``$SYNPROBE_CATALOG`` (same names win)
            (``_catalog``)
2. cache    ``$SYNPROBE_CACHE/datasets/<name>/<config_id>/<name>.h5``, where ``config_id`` hashes
            (recipe, n, seed, resolution, format); a finished file there is returned at once
            (``_cache``, which also holds the lock)
3. download under ``<dir>/.lock``: each URL in turn into ``<name>.h5.incomplete`` (resumed with an
            HTTP Range request when a partial file is there), size + sha256 checked, fsync, rename
            (``_download``: one URL; ``_fetch``: the retries and the order)
4. generate when no URL is listed or none answers (or ``$SYNPROBE_OFFLINE`` is set):
            :func:`synprobe.generator.generate` writes atomically (and resumes after a crash)

Verification failures delete the bad file and raise; an interrupted transfer keeps its
``.incomplete`` file so that the next call resumes it. ``synprobe.load`` finds catalog names
through :func:`fetch` because the package face ``synprobe`` installs it as the loader's resolver.
"""

from __future__ import annotations

from synprobe.datasets._cache import cache_path, cache_status
from synprobe.datasets._catalog import (
    CatalogEntry,
    InvalidCatalog,
    UnknownDataset,
    catalog_entry,
    entry_dict,
    list_catalog,
)
from synprobe.datasets._download import DownloadError, VerificationError
from synprobe.datasets._fetch import fetch

__all__ = [
    "CatalogEntry",
    "DownloadError",
    "InvalidCatalog",
    "UnknownDataset",
    "VerificationError",
    "cache_path",
    "cache_status",
    "catalog_entry",
    "entry_dict",
    "fetch",
    "list_catalog",
]
