import os
import time

import pytest


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    """Times on screen are local times: pin the zone so snapshots match on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
