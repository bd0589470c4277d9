"""Shared fixtures and hypothesis profiles.

Select a hypothesis profile with ``HYPOTHESIS_PROFILE=dev`` (more examples, for local bug hunts);
the default ``ci`` profile keeps the default run fast.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """User fonts never leak in (SYNPROBE_HOME) and dataset timestamps are fixed."""
    monkeypatch.setenv("SYNPROBE_HOME", str(tmp_path_factory.mktemp("synprobe_home")))
    monkeypatch.setenv("SYNPROBE_CACHE", str(tmp_path_factory.mktemp("synprobe_cache")))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def registry():
    from synprobe.fonts import FontRegistry

    return FontRegistry.load(user=False)


@pytest.fixture(scope="session")
def tiny_h5(tmp_path_factory):
    """2,400 ``default`` images at 16x16 (seed 0): enough rows for small training runs."""
    from synprobe.generator import generate

    out = tmp_path_factory.mktemp("tiny") / "d.h5"
    generate("default", 2400, out, workers=1, resolution=16)
    return out


@pytest.fixture(scope="module")
def one_torch_thread():
    """Training tests run single-threaded (fast and steady on a shared 2-core machine)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
