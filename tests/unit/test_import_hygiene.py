"""The data and analysis layers never import the UI toolkits, nor mlflow until it is used.

httpx imports `rich.console` for its own command-line client whenever rich is installed (and
textual installs it), so `rich` in sys.modules alone proves nothing about our code. The probe
records which module imported each forbidden package: textual and mlflow must not be loaded at
all, and rich only by httpx's CLI shim, never by anything of ours.
"""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("textual", "rich", "mlflow")
# Third-party modules allowed to pull in a forbidden package as a side effect.
ALLOWED_IMPORTERS = {"rich": {"httpx._main"}}

PROBE = """
import json, sys
FORBIDDEN = {forbidden!r}
importers = {{}}

class Spy:
    def find_spec(self, name, path=None, target=None):
        if name in FORBIDDEN:
            frame = sys._getframe(1)
            while frame is not None and (
                    frame.f_globals.get("__name__", "").startswith("importlib")
                    or frame.f_code.co_filename.startswith("<frozen")):
                frame = frame.f_back
            who = frame.f_globals.get("__name__", "?") if frame is not None else "?"
            importers.setdefault(name, []).append(who)
        return None

sys.meta_path.insert(0, Spy())
{extra}
import mlflow_tui.tracking, mlflow_tui.tracking.rest, mlflow_tui.tracking.poller
import mlflow_tui.tracking.local, mlflow_tui.tracking.now, mlflow_tui.tracking.artifacts
import mlflow_tui.analysis, mlflow_tui.analysis.now
import mlflow_tui.session, mlflow_tui.session.now, mlflow_tui.session.monitor
import mlflow_tui.session.compare
import mlflow_tui.alerts.events, mlflow_tui.alerts.delivery, mlflow_tui.alerts.watcher
{after}
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(FORBIDDEN))
print(json.dumps({{"loaded": loaded, "importers": importers}}))
"""


def _probe(extra: str = "", after: str = "") -> tuple[list[str], dict[str, list[str]]]:
    code = PROBE.format(forbidden=FORBIDDEN, extra=extra, after=after)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["loaded"], result["importers"]


def _violations(loaded: list[str], importers: dict[str, list[str]]) -> list[str]:
    bad = []
    for name in loaded:
        allowed = ALLOWED_IMPORTERS.get(name, set())
        who = importers.get(name, ["<unknown>"])
        bad += [f"{name} imported by {w}" for w in who if w not in allowed]
    return bad


def test_data_and_analysis_layers_import_no_ui_and_no_mlflow():
    loaded, importers = _probe()
    assert "textual" not in loaded
    assert "mlflow" not in loaded
    assert _violations(loaded, importers) == []


def test_constructing_sources_does_not_import_mlflow():
    after = ("from mlflow_tui.tracking import classify, open_source\n"
             "open_source(classify('http://localhost:1'))\n"
             "open_source(classify('sqlite:////nonexistent/mlflow.db'))\n")
    loaded, importers = _probe(after=after)
    assert "mlflow" not in loaded
    assert "textual" not in loaded
    assert _violations(loaded, importers) == []


def test_probe_notices_a_forbidden_import():
    # The probe itself works: an import of rich from outside httpx is caught and attributed.
    loaded, importers = _probe(extra="import rich")
    assert "rich" in loaded
    assert "rich imported by __main__" in _violations(loaded, importers)
