"""Misspelt names get a did-you-mean, and a closed pipe ends a listing quietly (issue 17)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synprobe import load
from synprobe.cli import main
from synprobe.datasets import UnknownDataset
from synprobe.errors import did_you_mean
from synprobe.load import LoadError

names = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=12)


@given(names, st.lists(names, max_size=8))
def test_did_you_mean_names_one_of_the_choices_or_nothing(word, choices):
    hint = did_you_mean(word, choices)
    assert hint == "" or any(hint == f" (did you mean {c!r}?)" for c in choices)


@given(names, st.lists(names, max_size=8))
def test_an_exact_choice_is_its_own_best_match(word, choices):
    assert did_you_mean(word, [*choices, word]) == f" (did you mean {word!r}?)"


def test_info_on_a_misspelt_file_names_the_file_next_to_it(runner, tiny_h5, monkeypatch):
    monkeypatch.chdir(tiny_h5.parent)
    res = runner.invoke(main, ["info", "dd.h5"])
    assert res.exit_code == 1
    assert "dd.h5: no such file (did you mean 'd.h5'?)" in res.output


def test_load_with_a_misspelt_file_names_the_file_next_to_it(tiny_h5):
    with pytest.raises(UnknownDataset, match=r"no such file or catalog dataset \(did you mean 'd.h5'\?\)"):
        load(str(tiny_h5.parent / "dd.h5"))


def test_load_with_a_misspelt_split_name_says_which_was_meant(tiny_h5):
    with pytest.raises(LoadError, match=r"no split 'stratified_fonts' \(did you mean 'stratified_font'\?\)"):
        load(tiny_h5, split_name="stratified_fonts")


def test_fonts_list_has_a_header_and_stops_quietly_when_the_pipe_closes():
    code = "from synprobe.cli import main; main()"
    cmd = [sys.executable, "-c", code, "fonts", "list"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        first = proc.stdout.readline().decode()
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 141
    assert first.split()[:4] == ["id", "family", "style", "tier"]
    assert "Error" not in err and "Traceback" not in err
