import os
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# (module, test name) of every snapshot test collected, before -k or -m deselects any: what
# test_unused_snapshots.py checks the files in __snapshots__ against.
COLLECTED: set[tuple[str, str]] = set()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.path.parent == HERE:
            COLLECTED.add((item.path.stem, item.name))


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    """Times on screen are local times: pin the zone so snapshots match on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
