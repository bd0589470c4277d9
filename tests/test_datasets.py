"""Dataset catalog, download cache and verification, against a real HTTP server on 127.0.0.1.

The server (``http.server`` in a thread) serves one small generated dataset as it is, truncated,
with one byte flipped, and cut off half-way through (once); it honours Range requests and logs
every request, so tests can check that a download resumed rather than restarted.
"""

from __future__ import annotations

import hashlib
import http.server
import importlib
import logging
import multiprocessing as mp
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from synprobe import datasets as ds
from synprobe.cli.download import datasets as datasets_cmd
from synprobe.cli.download import download as download_cmd

SYNBOLS_NAMES = ["default", "default-1k", "camouflage", "less-variations", "tiny", "segmentation", "counting",
                 "plain", "default-bw", "pixel-noise", "large-translation", "some-large-occlusion",
                 "many-small-occlusion", "non-camou-bw", "non-camou-shade"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def good_file(tmp_path_factory) -> tuple[Path, bytes]:
    """A small finished dataset (200 images at 8x8), generated once per session."""
    from synprobe.generator import generate

    out = tmp_path_factory.mktemp("hosted") / "good.h5"
    generate("default", 200, out, seed=3, workers=1, resolution=8)
    return out, out.read_bytes()


class _App:
    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.drop_once: set[str] = set()  # send half of the body, then hang up (first request only)
        self.no_range: set[str] = set()  # ignore Range: always answer 200 with the whole file
        self.delay = 0.0  # seconds between 16 KiB blocks


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server naming)
        app: _App = self.server.app
        name, rng = self.path.lstrip("/"), self.headers.get("Range")
        app.requests.append((name, rng))
        if name in HOSTILE:
            HOSTILE[name](self, app)
            return
        data = app.files.get(name)
        if data is None:
            self.send_error(404)
            return
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and name not in app.no_range:
            start = int(m[1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if name in app.drop_once:
            app.drop_once.discard(name)
            body = body[: len(body) // 2]  # HTTP/1.0: the connection closes when we return
        for i in range(0, len(body), 1 << 14):
            self.wfile.write(body[i: i + (1 << 14)])
            if app.delay:
                time.sleep(app.delay)

    def log_message(self, *args):
        pass


def _endless(h, app):
    """200 without Content-Length, then the file followed by zeros that never end."""
    h.send_response(200)
    h.end_headers()
    h.wfile.write(app.files["good.h5"])
    try:
        while True:
            h.wfile.write(bytes(1 << 16))
    except OSError:
        pass  # the client hung up


def _bad_range(h, app):
    """Always 206, from the wrong byte, whatever was asked."""
    data = app.files["good.h5"]
    h.send_response(206)
    h.send_header("Content-Range", f"bytes 5-{len(data) - 1}/{len(data)}")
    h.send_header("Content-Length", str(len(data) - 5))
    h.end_headers()
    h.wfile.write(data[5:])


def _redirect_loop(h, app):
    h.send_response(302)
    h.send_header("Location", "/loop.h5")
    h.send_header("Content-Length", "0")
    h.end_headers()


def _server_error(h, app):
    h.send_error(500)


HOSTILE = {"endless.h5": _endless, "badrange.h5": _bad_range, "loop.h5": _redirect_loop, "error.h5": _server_error}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client hanging up is expected here


@pytest.fixture
def server(good_file):
    _, data = good_file
    bad = bytearray(data)
    bad[len(bad) // 3] ^= 0xFF
    app = _App({"good.h5": data, "truncated.h5": data[: len(data) // 2], "corrupt.h5": bytes(bad),
                "drop.h5": data, "norange.h5": data})
    app.no_range.add("norange.h5")
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.app = app
    app.url = f"http://127.0.0.1:{srv.server_address[1]}"
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def stop():
        if t.is_alive():
            srv.shutdown()
            t.join(5)
            srv.server_close()

    app.stop = stop
    t.start()
    yield app
    stop()


def _toml(v) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(map(_toml, v)) + "]"
    return str(v)


@pytest.fixture
def catalog(tmp_path, monkeypatch, good_file):
    """``catalog(name=url_or_None, ...)``: user catalog entries (via SYNPROBE_CATALOG) for the hosted file."""
    _, data = good_file
    monkeypatch.setenv("SYNPROBE_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "catalog.toml"

    def make(**entries):
        lines = []
        for name, urls in entries.items():
            urls = [] if urls is None else [urls] if isinstance(urls, str) else urls
            t = {"recipe": "default", "n": 100 if not urls else 200, "seed": 3, "resolution": 8, "urls": urls}
            if urls:
                t.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
            lines += [f"[{name}]"] + [f"{k} = {_toml(v)}" for k, v in t.items()] + [""]
        path.write_text("\n".join(lines))
        monkeypatch.setenv("SYNPROBE_CATALOG", str(path))

    return make


def _leftovers(name: str) -> list[str]:
    d = ds.cache_path(name).parent
    return sorted(p.name for p in d.iterdir() if p.name != ".lock") if d.exists() else []


def _n_images(path: Path) -> int:
    from synprobe.io.h5 import open_dataset

    with open_dataset(path) as f:
        return len(f["y"])


# --------------------------------------------------------------------------- catalog


def test_bundled_catalog_has_the_synbols_sets():
    from synprobe.recipe import list_recipes

    cat = ds.list_catalog()
    assert set(SYNBOLS_NAMES) <= set(cat)
    for name, e in cat.items():
        assert e.recipe in list_recipes(), name
        assert not e.urls and e.seed == 0
        assert re.fullmatch(r"[0-9a-f]{16}", e.config_id)
    assert cat["default"].n == 100_000 and cat["default-1k"].n == 1000
    assert cat["segmentation"].n == cat["counting"].n == 10_000


def test_config_id_hashes_what_defines_the_samples(tmp_path, monkeypatch):
    a = ds.CatalogEntry("x", "default", 10)
    assert a.config_id == ds.CatalogEntry("x", "default", 10, description="other").config_id
    others = [ds.CatalogEntry("x", "default", 11), ds.CatalogEntry("x", "default", 10, seed=1),
              ds.CatalogEntry("x", "tiny", 10), ds.CatalogEntry("x", "default", 10, resolution=16)]
    assert len({a.config_id, *(e.config_id for e in others)}) == 5
    assert ds.CatalogEntry("x", "default", 10, resolution=[16, 16]).config_id == others[-1].config_id
    import synprobe.io.h5 as h5mod

    before = a.config_id
    with monkeypatch.context() as m:  # a generator that writes other bytes gets another cache folder
        m.setattr(h5mod, "SAMPLES_VERSION", h5mod.SAMPLES_VERSION + 1)
        assert ds.CatalogEntry("x", "default", 10).config_id != before
    monkeypatch.setenv("SYNPROBE_CACHE", str(tmp_path))
    p = ds.cache_path("default-1k")
    assert p == tmp_path / "datasets" / "default-1k" / ds.catalog_entry("default-1k").config_id / "default-1k.h5"


def test_unknown_name_lists_close_matches_and_the_catalog():
    with pytest.raises(ds.UnknownDataset) as e:
        ds.fetch("defualt")
    msg = str(e.value)
    assert "'default'" in msg and "camouflage" in msg and "SYNPROBE_CATALOG" in msg and "\n" not in msg
    assert isinstance(e.value, LookupError)


@pytest.mark.parametrize("body, field", [
    ('[a]\nrecipe = "default"\nn = 10\nurl = "http://x"\n', "a.url: unknown key (did you mean 'urls'?)"),
    ('[a]\nrecipe = "default"\nn = 10\nurls = ["http://x"]\n', "a.sha256"),
    ('[a]\nrecipe = "default"\nn = 10\nurls = ["ftp://x"]\nsha256 = "' + "0" * 64 + '"\nsize = 1\n', "a.urls"),
    ('[a]\nrecipe = "default"\n', "a.n: missing"),
    ('[a]\nrecipe = "default"\nn = 0\n', "a.n: expected an integer >= 1"),
])
def test_invalid_user_catalog_names_file_and_field(tmp_path, monkeypatch, body, field):
    path = tmp_path / "cat.toml"
    path.write_text(body)
    monkeypatch.setenv("SYNPROBE_CATALOG", str(path))
    with pytest.raises(ds.InvalidCatalog, match=re.escape(f"{path}: {field}")):
        ds.list_catalog()


def test_existing_path_is_returned_as_is(good_file):
    path, _ = good_file
    assert ds.fetch(path) == path and ds.fetch(str(path)) == path


# --------------------------------------------------------------------------- download


def test_good_download_is_cached_verified_and_loadable(server, catalog, good_file):
    catalog(hosted=f"{server.url}/good.h5")
    p = ds.fetch("hosted", progress=False)
    assert p == ds.cache_path("hosted") and p.read_bytes() == good_file[1]
    assert _n_images(p) == 200
    assert _leftovers("hosted") == ["hosted.h5", "source.json"]
    assert ds.cache_status("hosted") == "cached"
    server.stop()  # second fetch: no network at all
    assert ds.fetch("hosted", progress=False) == p
    assert server.requests == [("good.h5", None)]


def test_force_downloads_again(server, catalog):
    catalog(hosted=f"{server.url}/good.h5")
    ds.fetch("hosted", progress=False)
    ds.fetch("hosted", progress=False, force=True)
    assert server.requests == [("good.h5", None)] * 2


@pytest.mark.parametrize("name, what", [("truncated", "size mismatch"), ("corrupt", "sha256 mismatch")])
def test_bad_download_is_a_one_line_error_and_leaves_nothing(server, catalog, good_file, name, what):
    url = f"{server.url}/{name}.h5"
    catalog(hosted=url)
    with pytest.raises(ds.VerificationError) as e:
        ds.fetch("hosted", progress=False)
    msg = str(e.value)
    assert "\n" not in msg and url in msg and what in msg
    data = good_file[1]
    if name == "truncated":
        assert str(len(data)) in msg and str(len(data) // 2) in msg
    else:
        assert hashlib.sha256(data).hexdigest() in msg
    assert _leftovers("hosted") == []


def test_lost_connection_resumes_with_range(server, catalog, good_file):
    server.drop_once.add("drop.h5")
    catalog(hosted=f"{server.url}/drop.h5")
    p = ds.fetch("hosted", progress=False)
    assert p.read_bytes() == good_file[1]
    half = len(good_file[1]) // 2
    assert server.requests == [("drop.h5", None), ("drop.h5", f"bytes={half}-")]


def test_partial_download_is_kept_and_the_next_fetch_resumes(server, catalog, good_file, monkeypatch):
    monkeypatch.setattr(importlib.import_module("synprobe.datasets._fetch"), "RETRIES", 0)
    server.drop_once.add("drop.h5")
    url = f"{server.url}/drop.h5"
    catalog(hosted=url)
    with pytest.raises(ds.DownloadError, match="connection lost") as e:
        ds.fetch("hosted", progress=False)
    assert "\n" not in str(e.value) and url in str(e.value) and "run again to resume" in str(e.value)
    half = len(good_file[1]) // 2
    assert _leftovers("hosted") == ["hosted.h5.incomplete"] and ds.cache_status("hosted") == "partial"
    p = ds.fetch("hosted", progress=False)
    assert p.read_bytes() == good_file[1] and _leftovers("hosted") == ["hosted.h5", "source.json"]
    assert server.requests[-1] == ("drop.h5", f"bytes={half}-")


def test_server_without_range_support_restarts_from_zero(server, catalog, good_file, monkeypatch):
    catalog(hosted=f"{server.url}/norange.h5")
    tmp = ds.cache_path("hosted").with_name("hosted.h5.incomplete")
    tmp.parent.mkdir(parents=True)
    tmp.write_bytes(b"garbage!")  # the server ignores Range: this must be overwritten, not kept
    assert ds.fetch("hosted", progress=False).read_bytes() == good_file[1]
    assert server.requests == [("norange.h5", "bytes=8-")]


def test_a_server_that_never_stops_gets_no_more_than_the_catalog_size(server, catalog, good_file):
    """Was: 400 MB written for an 8 MB entry (no Content-Length, no end)."""
    catalog(hosted=f"{server.url}/endless.h5")
    with pytest.raises(ds.VerificationError, match="sends more than the catalog's"):
        ds.fetch("hosted", progress=False)
    assert _leftovers("hosted") == []


def test_a_wrong_range_answer_restarts_once_then_gives_up(server, catalog, good_file):
    """Was: a 206 from the wrong offset recursed into RecursionError."""
    catalog(hosted=[f"{server.url}/badrange.h5", f"{server.url}/good.h5"])
    tmp = ds.cache_path("hosted").with_name("hosted.h5.incomplete")
    tmp.parent.mkdir(parents=True)
    tmp.write_bytes(good_file[1][:100])
    assert ds.fetch("hosted", progress=False).read_bytes() == good_file[1]  # the next URL
    assert [r for r in server.requests if r[0] == "badrange.h5"] == [("badrange.h5", "bytes=100-"),
                                                                      ("badrange.h5", None)]


@pytest.mark.parametrize("name", ["loop", "error", "missing"])
def test_failing_urls_fall_back_with_a_note_even_when_quiet(server, catalog, capsys, name):
    """404, 500 and redirect loops fall back to local generation, and say so on stderr under --quiet."""
    catalog(hosted=f"{server.url}/{name}.h5")
    p = ds.fetch("hosted", progress=False, generate_workers=1)
    assert _n_images(p) == 200
    err = capsys.readouterr().err
    assert "no download available for hosted" in err and "generated locally" in err
    assert len([r for r in server.requests if r[0] == f"{name}.h5"]) <= 11  # redirects are bounded


def test_file_url(catalog, good_file):
    path, data = good_file
    catalog(hosted=path.as_uri())
    assert ds.fetch("hosted", progress=False).read_bytes() == data


def test_bad_url_falls_through_to_the_next(server, catalog, good_file):
    catalog(hosted=[f"{server.url}/missing.h5", f"{server.url}/good.h5"])
    assert ds.fetch("hosted", progress=False).read_bytes() == good_file[1]


# --------------------------------------------------------------------------- generate on a miss


def test_no_url_generates_locally_and_says_so(catalog, caplog):
    catalog(local=None)
    with caplog.at_level(logging.INFO, logger="synprobe.datasets"):
        p = ds.fetch("local", progress=False, generate_workers=1)
    assert "no download available for local: generated locally from recipe default, seed 3" in caplog.text
    assert _n_images(p) == 100 and _leftovers("local") == ["local.h5", "source.json"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="synprobe.datasets"):
        assert ds.fetch("local", progress=False) == p  # cached: nothing generated
    assert "generated" not in caplog.text


def test_unreachable_url_or_offline_falls_back_to_generation(catalog, caplog, monkeypatch, server):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/x.h5"
    catalog(a=dead, b=f"{server.url}/good.h5")
    with caplog.at_level(logging.INFO, logger="synprobe.datasets"):
        assert _n_images(ds.fetch("a", progress=False, generate_workers=1)) == 200
        assert f"no download available for a ({dead}:" in caplog.text
        monkeypatch.setenv("SYNPROBE_OFFLINE", "1")
        ds.fetch("b", progress=False, generate_workers=1)
    assert "SYNPROBE_OFFLINE is set" in caplog.text and server.requests == []


# --------------------------------------------------------------------------- lock


def _fetch_in_child(name, barrier, results):
    import synprobe.io.h5  # noqa: F401 (imported before the race, not during it)

    notes = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: notes.append(record.getMessage())
    logger = logging.getLogger("synprobe.datasets")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    barrier.wait()
    results.put((str(ds.fetch(name, progress=False)), notes))


def test_two_processes_fetching_at_once_share_one_download(server, catalog, good_file):
    server.delay = 0.1  # ~2 s per download, so the second process has to wait on the lock
    catalog(hosted=f"{server.url}/good.h5")
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_fetch_in_child, args=("hosted", barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    paths, notes = zip(*[results.get(timeout=60) for _ in procs])
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    results.close()
    results.join_thread()
    assert paths[0] == paths[1] == str(ds.cache_path("hosted"))
    assert Path(paths[0]).read_bytes() == good_file[1]
    assert server.requests == [("good.h5", None)]
    assert sorted(any("waiting for another process" in m for m in n) for n in notes) == [False, True]


# --------------------------------------------------------------------------- CLI


def test_cli_download_and_datasets(runner, server, catalog, good_file):
    catalog(hosted=f"{server.url}/good.h5")
    r = runner.invoke(datasets_cmd, [])
    assert r.exit_code == 0, r.output
    assert re.search(r"^hosted\s+200\s+download\s+missing", r.output, re.M)
    assert re.search(r"^default\s+100000\s+generate\s+missing", r.output, re.M)
    r = runner.invoke(download_cmd, ["hosted", "--quiet"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == str(ds.cache_path("hosted"))
    r = runner.invoke(datasets_cmd, ["--json"])
    import json

    rows = {row["name"]: row for row in json.loads(r.output)}
    assert rows["hosted"]["status"] == "cached" and rows["default"]["status"] == "missing"
    r = runner.invoke(download_cmd, ["defualt"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert [ln for ln in r.output.splitlines() if ln.startswith("Error")][0].startswith("Error: defualt: no such")


@pytest.mark.parametrize("cmd", [download_cmd, datasets_cmd])
def test_cli_help(runner, cmd):
    r = runner.invoke(cmd, ["--help"])
    assert r.exit_code == 0 and "Usage" in r.output
