"""No snapshot file without its test. syrupy fails a whole run that leaves a snapshot unused,
but not under pytest-xdist (each worker sees only the tests it ran): the same check, here."""

from __future__ import annotations

from tests.snapshots.conftest import COLLECTED, HERE


def test_every_snapshot_file_belongs_to_a_collected_test():
    modules = {module for module, _ in COLLECTED}
    unused = sorted(f"{svg.parent.name}/{svg.name}"
                    for svg in (HERE / "__snapshots__").glob("*/*.svg")
                    if svg.parent.name in modules and (svg.parent.name, svg.stem) not in COLLECTED)
    assert unused == [], ("unused snapshots; `pytest tests/snapshots --snapshot-update -n 0` "
                          "removes them")
