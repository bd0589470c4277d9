"""synprobe.config is the only reader of the environment (its docstring lists every setting)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from synprobe import config

PKG = Path(config.__file__).parent
READS = re.compile(r"\bos\.environ\b|\bgetenv\b|\benviron\[|\bputenv\b")


def test_only_config_reads_the_environment():
    readers = [
        f"{path.relative_to(PKG.parent)}:{i}: {line.strip()}"
        for path in sorted(PKG.rglob("*.py"))
        if path.name != "config.py" or path.parent != PKG
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if READS.search(line)
    ]
    assert not readers, "read the setting through synprobe.config:\n" + "\n".join(readers)


def test_every_setting_read_is_documented():
    source = Path(config.__file__).read_text()
    doc = config.__doc__
    for name in set(re.findall(r'"((?:SYNPROBE_|XDG_|SOURCE_DATE_EPOCH|NUMBA_|CC)\w*)"', source)):
        assert f"``{name}``" in doc or f"${name}" in doc, f"{name} is read but not described in synprobe.config"


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("1", True), ("0", False)])
def test_fsync_setting(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("SYNPROBE_FSYNC", raising=False)
    else:
        monkeypatch.setenv("SYNPROBE_FSYNC", value)
    assert config.fsync_enabled() is expected


def test_numba_cache_goes_under_the_synprobe_cache_unless_set(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", "")  # recorded, so that the test's own value is undone
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setenv("SYNPROBE_CACHE", str(tmp_path))
    config.use_numba_cache()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "numba")
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/elsewhere")
    config.use_numba_cache()
    assert os.environ["NUMBA_CACHE_DIR"] == "/elsewhere"


def test_environment_lists_the_settings_set(monkeypatch):
    monkeypatch.setenv("SYNPROBE_OFFLINE", "1")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    monkeypatch.setenv("UNRELATED_SETTING", "x")
    env = config.environment()
    assert env["SYNPROBE_OFFLINE"] == "1" and env["SOURCE_DATE_EPOCH"] == "0" and "UNRELATED_SETTING" not in env
