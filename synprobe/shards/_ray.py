"""``synprobe generate --backend ray``: Ray tasks render shards, this process writes and merges them.

Each task renders rows [a, b) on whichever node Ray picks (synprobe, with its bundled fonts,
installed there; each node keeps its own glyph atlas in its cache) and returns the arrays through
Ray's object store; the driver writes them as shard files into ``OUT.shards/`` (so no shared file
system is needed), then merges them into ``OUT``. After an interruption, ``resume`` keeps the
shards already written whose checksums still hold and renders only the others.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from synprobe.config import ray_address
from synprobe.errors import SynprobeError
from synprobe.fonts import FontRegistry
from synprobe.generator import GenerateResult, WriteMode, check_arguments, check_output
from synprobe.io.assemble import slab_rows
from synprobe.io.lock import output_lock
from synprobe.io.partial import image_shape
from synprobe.paths import format_size
from synprobe.recipe import recipe_json, resolve_recipe
from synprobe.sampling import Vocab
from synprobe.shards._merge import check_no_local_run, merge_shards
from synprobe.shards._shard import render_shard, shard_ranges, verify_shard, write_shard

__all__ = ["generate_ray", "import_ray"]

IN_FLIGHT_PER_CPU = 2  # tasks queued per cluster CPU: keeps every CPU busy, bounds the object store


def import_ray():
    """The ``ray`` module, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise SynprobeError("--backend ray needs Ray: pip install -e '.[ray]' (from the synprobe checkout)") from None
    return ray


def generate_ray(
    recipe,
    n: int,
    out,
    *,
    seed: int = 0,
    resolution=None,
    address: str | None = None,
    shard_rows: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    compression: str | None = None,
    progress: bool = False,
) -> GenerateResult:
    """:func:`synprobe.generator.generate` on a Ray cluster: the same file, byte for byte.

    Args:
        address: the cluster (``ray://HOST:10001``, ``auto``, ...); default ``RAY_ADDRESS``, else a
            Ray started on this machine (or the one this process already runs, if any).
        shard_rows: rows per task and shard file (default: one 16 MB slab of pixels).
        resume: keep the verified shards of an interrupted run (``OUT.shards/``), render the rest.
        overwrite: replace ``out``; discard an interrupted run's shards.
        Other arguments as for :func:`~synprobe.generator.generate`.
    """
    t0 = time.perf_counter()
    mode = WriteMode.of(resume, overwrite)
    check_arguments(n, seed, compression)
    rc = resolve_recipe(recipe, resolution)
    registry = FontRegistry.load()
    vocab = Vocab.build(rc, registry)
    out = check_output(out)
    rows = slab_rows(*image_shape(rc)) if shard_rows is None else shard_rows
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        raise SynprobeError(f"--shard-rows: expected a positive integer, got {rows!r}")
    if out.exists() and not mode.replaces:
        raise SynprobeError(f"{out}: already exists; pass --overwrite to replace it")
    plan = {f"rows-{a:012d}-{b:012d}.h5": (a, b) for a, b in shard_ranges(n, rows)}
    run = {
        "recipe": recipe_json(rc),
        "seed": seed,
        "n": n,
        "shard_rows": rows,
        "fonts_manifest_sha256": vocab.fonts_sha256,
    }
    check_no_local_run(out, mode.replaces)
    folder = out.with_name(out.name + ".shards")
    with output_lock(folder):  # one driver per output (the merge also takes OUT's own lock)
        kept = _open_folder(folder, run, mode, plan)
        todo = [(name, a, b) for name, (a, b) in plan.items() if name not in kept]
        try:
            _check_space(out, rc, sum(b - a for _, a, b in todo) + n)  # the missing shards, then the file
        except SynprobeError:
            if not kept:
                shutil.rmtree(folder, ignore_errors=True)  # nothing to resume: leave nothing behind
            raise
        if todo:
            _render(folder, run, todo, len(plan), address, progress)
        # every shard was verified (kept ones above) or written by this process from checksummed arrays
        merge_shards(
            [folder / name for name in plan],
            out,
            overwrite=mode.replaces,
            compression=compression,
            verify=False,
            registry=registry,
        )
        shutil.rmtree(folder, ignore_errors=True)
    dt = time.perf_counter() - t0
    return GenerateResult(out, n, dt, n / dt, len(kept))


def _open_folder(folder: Path, run: dict, mode: WriteMode, plan: dict) -> set[str]:
    """``OUT.shards/`` made ready: created, started again, or (resume) kept with the shards that
    belong to this run and verify; returns their names. Anything else there is removed."""
    if folder.exists() and not folder.is_dir():
        raise SynprobeError(f"{folder}: not a folder; remove it or choose another -o")
    if folder.exists() and mode is WriteMode.NEW:
        raise SynprobeError(
            f"{folder}: an unfinished run is there; pass --resume to finish it or --overwrite to start again"
        )
    if not folder.exists() and mode.resumes:
        raise SynprobeError(f"{folder}: nothing to resume; run without --resume")
    if folder.exists() and not mode.resumes:
        shutil.rmtree(folder)
    folder.mkdir(exist_ok=True)
    run_file = folder / "run.json"
    if mode.resumes:
        try:
            old = json.loads(run_file.read_text())
        except (OSError, ValueError):
            old = run
        diff = next((k for k in run if old.get(k) != run[k]), None)
        if diff is not None:
            raise SynprobeError(
                f"{folder}: cannot resume, the run was started with a different {diff}; "
                "pass the same arguments or --overwrite"
            )
    run_file.write_text(json.dumps(run, sort_keys=True))
    kept = set()
    for p in folder.iterdir():
        if p.name == "run.json":
            continue
        info = verify_shard(p) if p.name in plan else None
        if info is not None and (info.start, info.stop) == plan[p.name] and _same_run(info.run, run):
            kept.add(p.name)
        else:
            p.unlink()  # damaged, half-written, or not one of this run's
    return kept


def _check_space(out: Path, rc, rows: int) -> None:
    """Refuse a run whose shards and merged file cannot fit on the disk, before rendering: pixels
    (and masks) plus ~1 KB of labels and columns per row."""
    h, w, c = image_shape(rc)
    need = rows * (h * w * (c + (rc.max_symbols if rc.masks else 0)) + 1024)
    free = shutil.disk_usage(out.parent).free
    if need > free:
        raise SynprobeError(
            f"{out.parent}: not enough free disk space: the shards and the merged file need about "
            f"{format_size(need)}, {format_size(free)} is free"
        )


def _same_run(shard_run: dict, run: dict) -> bool:
    return all(shard_run[k] == run[k] for k in ("recipe", "seed", "n", "fonts_manifest_sha256"))


def _task(rc_json: str, seed: int, n: int, start: int, stop: int):
    """One Ray task: rows [start, stop), rendered in memory on the worker's node."""
    return render_shard(json.loads(rc_json), n, start, stop, seed=seed)


def _render(folder: Path, run: dict, todo: list, total: int, address: str | None, progress: bool) -> None:
    """Render the missing shards as Ray tasks (a bounded number in flight) and write each one as it
    comes back; a progress bar over shards."""
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        _connect(ray, address or ray_address())
    bar = _bar(total, total - len(todo), progress)
    try:
        task = ray.remote(num_cpus=1)(_task)
        window = max(1, IN_FLIGHT_PER_CPU * int(ray.cluster_resources().get("CPU", 1)))
        queue, pending = list(todo), {}
        while queue or pending:
            while queue and len(pending) < window:
                name, a, b = queue.pop(0)
                pending[task.remote(run["recipe"], run["seed"], run["n"], a, b)] = name
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                shard = _result(ray, ref)
                if shard.run["fonts_manifest_sha256"] != run["fonts_manifest_sha256"]:
                    raise SynprobeError(
                        "a Ray node has other font files than this machine (fonts_manifest_sha256 "
                        "differs); install the same synprobe and user fonts on every node"
                    )
                write_shard(folder / pending.pop(ref), shard)
                bar.update(1)
    finally:
        bar.close()
        if started:
            ray.shutdown()


def _connect(ray, address: str | None) -> None:
    """Start a Ray here (no address) or join the cluster at ``address``; one line if that fails."""
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except Exception as e:  # noqa: BLE001 - Ray raises plain Exception when its processes do not start
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise SynprobeError(f"--backend ray: cannot start or join {where}: {first}") from None


def _result(ray, ref):
    """A task's shard; a SynprobeError raised on a node (missing fonts, a bad recipe there) comes
    back as its own one line, not wrapped in Ray's remote traceback."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        if isinstance(e.cause, SynprobeError):
            raise SynprobeError(f"on a Ray node: {e.cause}") from None
        raise


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="shard", dynamic_ncols=True, desc="generate (ray)")
