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
from pathlib import Path

FORBIDDEN = ("textual", "rich", "mlflow")
# The layers below the UI (ARCHITECTURE.md): every module of these folders is imported.
LAYERS = ("tracking", "analysis", "settings", "session", "alerts")
TUI = Path(__file__).resolve().parents[2] / "tui"


def _layer_modules() -> list[str]:
    names = []
    for layer in LAYERS:
        for path in sorted((TUI / layer).rglob("*.py")):
            parts = path.relative_to(TUI).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(("mlflow_tui", *parts)))
    return names
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
import importlib
for name in {modules!r}:
    importlib.import_module(name)
{after}
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(FORBIDDEN))
print(json.dumps({{"loaded": loaded, "importers": importers}}))
"""


def _probe(extra: str = "", after: str = "") -> tuple[list[str], dict[str, list[str]]]:
    code = PROBE.format(forbidden=FORBIDDEN, extra=extra, after=after, modules=_layer_modules())
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


def test_the_probe_imports_every_layer():
    modules = _layer_modules()
    assert {"mlflow_tui.analysis.charting", "mlflow_tui.settings.configfile",
            "mlflow_tui.alerts.notify", "mlflow_tui.session.monitor"} <= set(modules)


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
