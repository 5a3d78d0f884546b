"""Every binding, pressed under its real key name in a real terminal (tmux), does what it shows.
See tests/tmux_keys.py; skipped where tmux is not installed."""

from __future__ import annotations

import shutil

import pytest

from tests import tmux_keys

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.mark.waits  # a real terminal: waits on its screen
def test_every_key_works_in_a_real_terminal(monkeypatch):
    monkeypatch.chdir(tmux_keys.__file__.rsplit("/tests/", 1)[0])
    failed = tmux_keys.run(verbose=False)
    assert failed == []
