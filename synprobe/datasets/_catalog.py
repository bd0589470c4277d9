"""The dataset catalog for :mod:`synprobe.datasets`: entries, their validation, and listing.

Holds :class:`CatalogEntry` (checked in ``__post_init__``; its ``config_id`` keys the cache path),
the reader of ``synprobe/catalog.toml`` (bundled next to this package, where the wheel ships it)
and ``$SYNPROBE_CATALOG``, name lookup with close matches, and :func:`entry_dict`.
:class:`InvalidCatalog` and :class:`UnknownDataset` live here so that these can raise them.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from synprobe.config import catalog_override
from synprobe.errors import SynprobeError
from synprobe.fonts import FontRegistry
from synprobe.io import h5  # h5.FORMAT, h5.SAMPLES_VERSION: looked up each time an entry is hashed
from synprobe.paths import missing_file_hint, read_text_file
from synprobe.recipe import recipe_json, resolve_recipe

CATALOG = Path(__file__).parent.parent / "catalog.toml"  # bundled catalog: synprobe/catalog.toml


class InvalidCatalog(SynprobeError, ValueError):
    """A catalog TOML file is malformed (message: file, entry.field, what is allowed)."""


class UnknownDataset(SynprobeError, LookupError):
    """A name is neither a file nor a catalog entry."""


# --------------------------------------------------------------------------- catalog

_KEYS = ("recipe", "n", "seed", "resolution", "description", "urls", "sha256", "size")


@dataclass(frozen=True)
class CatalogEntry:
    """One named dataset: how to generate it, and optionally where a verified copy is hosted."""

    name: str
    recipe: str  # bundled recipe name or recipe TOML path
    n: int  # number of samples
    seed: int = 0  # dataset seed
    resolution: tuple[int, int] | None = None  # (H, W) override of the recipe's resolution
    description: str = ""
    urls: tuple[str, ...] = ()  # http(s):// or file:// mirrors, tried in order
    sha256: str | None = None  # hex digest of the hosted file
    size: int | None = None  # bytes of the hosted file
    source: str = field(default="<catalog>", compare=False)  # file the entry was read from

    def __post_init__(self):
        def bad(key, msg):
            raise InvalidCatalog(f"{self.source}: {self.name}.{key}: {msg}")

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.name):
            bad("name", "use letters, digits, '-', '_' and '.'")
        if not isinstance(self.recipe, str) or not self.recipe:
            bad("recipe", f"expected a recipe name (see `synprobe recipes`) or a TOML path, got {self.recipe!r}")
        for key, lo in (("n", 1), ("seed", 0)):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                bad(key, f"expected an integer >= {lo}, got {v!r}")
        res = self.resolution
        if res is not None:
            res = (res, res) if isinstance(res, int) and not isinstance(res, bool) else tuple(res)
            if len(res) != 2 or not all(isinstance(v, int) and 8 <= v <= 256 for v in res):
                bad("resolution", f"expected an integer or [H, W] in 8..256, got {self.resolution!r}")
            object.__setattr__(self, "resolution", res)
        object.__setattr__(self, "urls", tuple(self.urls))
        for u in self.urls:
            if not isinstance(u, str) or not u.startswith(("http://", "https://", "file://")):
                bad("urls", f"expected http://, https:// or file:// URLs, got {u!r}")
        if self.urls or self.sha256 is not None:
            if not isinstance(self.sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", self.sha256):
                bad("sha256", f"expected 64 hex digits (required with urls), got {self.sha256!r}")
            object.__setattr__(self, "sha256", self.sha256.lower())
        if self.urls or self.size is not None:
            if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 1:
                bad("size", f"expected the file size in bytes (required with urls), got {self.size!r}")

    def config(self) -> dict:
        """What defines the samples: hashed into the cache path."""
        res = list(self.resolution) if self.resolution else None
        return {
            "recipe": self.recipe,
            "n": self.n,
            "seed": self.seed,
            "resolution": res,
            "format": h5.FORMAT,
            "samples_version": h5.SAMPLES_VERSION,
            "recipe_json": _recipe_fingerprint(self.recipe, self.resolution),
            "fonts": _fonts_fingerprint(),
        }

    @property
    def config_id(self) -> str:
        """First 16 hex digits of the sha256 of the canonical JSON of :meth:`config`."""
        text = json.dumps(self.config(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _recipe_fingerprint(recipe: str, resolution) -> str:
    """sha256 of the resolved recipe: editing a recipe file gives a new cache folder."""
    try:
        text = recipe_json(resolve_recipe(recipe, resolution))
    except SynprobeError:
        text = recipe  # reported when the dataset is generated
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fonts_fingerprint() -> str:
    """sha256 of the samplable fonts (bundled + user-added): adding fonts gives a new cache folder."""
    reg = FontRegistry.load()
    return hashlib.sha256(json.dumps([[f, reg.entry(f).sha256] for f in reg.ids()]).encode()).hexdigest()[:16]


def _read_catalog(path: Path) -> dict[str, CatalogEntry]:
    try:
        doc = tomllib.loads(read_text_file(path))
    except tomllib.TOMLDecodeError as e:
        raise InvalidCatalog(f"{path}: not valid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        why = getattr(e, "strerror", None) or e
        raise InvalidCatalog(f"{path}: cannot read the catalog ({why}); check SYNPROBE_CATALOG") from None
    out = {}
    for name, t in doc.items():
        if not isinstance(t, dict):
            raise InvalidCatalog(f"{path}: {name}: expected a table [{name}] with keys {', '.join(_KEYS)}")
        for k in t:
            if k not in _KEYS:
                near = difflib.get_close_matches(k, _KEYS, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise InvalidCatalog(f"{path}: {name}.{k}: unknown key{hint}; allowed: {', '.join(_KEYS)}")
        for k in ("recipe", "n"):
            if k not in t:
                raise InvalidCatalog(f"{path}: {name}.{k}: missing (required)")
        out[name] = CatalogEntry(name=name, source=str(path), **t)
    return out


def list_catalog() -> dict[str, CatalogEntry]:
    """Catalog name -> entry: the bundled catalog, updated with ``$SYNPROBE_CATALOG``'s tables."""
    entries = _read_catalog(CATALOG)
    extra = catalog_override()
    if extra is not None:
        entries.update(_read_catalog(extra))
    return entries


def catalog_entry(name: str) -> CatalogEntry:
    """The catalog entry ``name``; :class:`UnknownDataset` (with close matches) otherwise."""
    entries = list_catalog()
    if name in entries:
        return entries[name]
    near = difflib.get_close_matches(name, list(entries), n=3)
    hint = f" (did you mean {', '.join(map(repr, near))}?)" if near else ""
    if name.endswith((".h5", ".hdf5")) or "/" in name:  # meant as a file: the files next to it first
        hint = missing_file_hint(name) or hint
    raise UnknownDataset(
        f"{name}: no such file or catalog dataset{hint}; catalog: {', '.join(entries)} "
        "(add entries with SYNPROBE_CATALOG=my.toml)"
    )


# --------------------------------------------------------------------------- listing


def entry_dict(entry: CatalogEntry) -> dict:
    """A JSON-ready dict of an entry (``urls`` as a list)."""
    d = asdict(entry)
    d["urls"] = list(entry.urls)
    d["resolution"] = list(entry.resolution) if entry.resolution else None
    return d
