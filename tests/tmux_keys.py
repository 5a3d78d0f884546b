"""Every key, pressed in a real terminal: `mlflow-tui --demo` in tmux, keys sent with
`tmux send-keys` under their real tmux names, each checked by what it shows on screen
(`tmux capture-pane -p`). A binding only a test sends by Textual name can be dead for users;
this catches it. About 40 s (the demo store takes ~12 s to prepare).

    python tests/tmux_keys.py            # prints each step, exit status 1 on a failure
    NO_COLOR=1 python tests/tmux_keys.py # the same without colour

Run by tests/integration/test_tmux_keys.py (skipped without tmux).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

WIDTH, HEIGHT = 120, 40


@dataclass
class Tmux:
    socket: str
    session: str = "keys"
    log: list[str] = field(default_factory=list)

    def run(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=check, timeout=20)
        return proc.stdout

    def start(self, command: list[str], env: dict[str, str], cwd: str) -> None:
        envs = [f"{k}={v}" for k, v in env.items()]
        self.run("-f", "/dev/null", "new-session", "-d", "-s", self.session,
                 "-x", str(WIDTH), "-y", str(HEIGHT), "-c", cwd, "env", "-i", *envs, *command)
        self.run("set-option", "-g", "escape-time", "0")
        self.run("set-option", "-t", self.session, "remain-on-exit", "on")

    def keys(self, *names: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", self.session, *(["-l"] if literal else []), *names)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def dead(self) -> bool:
        return self.run("list-panes", "-t", self.session, "-F", "#{pane_dead}",
                        check=False).strip() == "1"

    def resize(self, width: int, height: int) -> None:
        self.run("resize-window", "-t", self.session, "-x", str(width), "-y", str(height))

    def kill(self) -> None:
        self.run("kill-server", check=False)


def wait(tmux: Tmux, predicate: Callable[[str], bool], timeout: float = 15.0) -> str:
    """The screen once `predicate` holds. The timeout only bounds a failure: under a CPU hog
    beside a busy suite, opening the palette took longer than the 6 s this used to allow."""
    deadline = time.monotonic() + timeout
    text = tmux.screen()
    while not predicate(text):
        if time.monotonic() > deadline:
            raise AssertionError("screen never matched; last screen:\n" + text)
        time.sleep(0.1)
        text = tmux.screen()
    return text


def has(*needles: str) -> Callable[[str], bool]:
    return lambda text: all(n in text for n in needles)


def lacks(*needles: str) -> Callable[[str], bool]:
    return lambda text: not any(n in text for n in needles)


def top_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def chart_title(text: str) -> str:
    """The chart's border title line: the highlighted run's name and its view."""
    for line in text.splitlines():
        if "view " in line and "(m)" in line:
            return line
    return ""


STATUS_WORDS = ("RUNNING", "FINISHED", "FAILED", "KILLED", "SCHEDULED")


def run_names(text: str) -> list[str]:
    """The run table's names, top to bottom (the cell after the status word)."""
    names = []
    for line in text.splitlines():
        for word in STATUS_WORDS:
            if f" {word}  " in line and line.count("│") >= 3:
                cell = line.split(f" {word}", 1)[1].strip()
                names.append(cell.split("  ")[0].strip())
                break
    return names


def run(verbose: bool = True) -> list[str]:
    """Drive the demo; return the failed steps (empty: every key did what it shows)."""
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed")
    failures: list[str] = []
    tmux = Tmux(socket=f"mlflow-tui-keys-{os.getpid()}")
    workdir = tempfile.mkdtemp(prefix="mlflow-tui-keys-")
    env = {"TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none",
           "XDG_CONFIG_HOME": workdir, "PYTHONPATH": os.getcwd()}
    for name in ("NO_COLOR", "TEXTUAL_COLOR_SYSTEM", "PATH", "HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    tmux.start([sys.executable, "-m", "mlflow_tui", "--demo", "-i", "1"], env, workdir)

    def step(name: str, action: Callable[[], None]) -> None:
        started = time.monotonic()
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - reported, the next step still runs
            failures.append(f"{name}: {exc}")
            if verbose:
                print(f"FAIL {name}: {exc}", flush=True)
            tmux.keys("Escape")
            time.sleep(0.3)
            return
        if verbose:
            print(f"ok   {name} ({time.monotonic() - started:.1f} s)", flush=True)

    try:
        wait(tmux, has("● live", "RUNNING"), timeout=60)

        def help_keys() -> None:
            tmux.keys("?", literal=True)
            wait(tmux, has("Everywhere", "Monitor", "Warnings"))
            tmux.keys("Escape")
            wait(tmux, lacks("Everywhere"))
            tmux.keys("F1")
            wait(tmux, has("Everywhere"))
            tmux.keys("?", literal=True)  # ? closes it too
            wait(tmux, lacks("Everywhere"))

        def filter_keys() -> None:
            tmux.keys("/", literal=True)
            wait(tmux, has("text matches run names"))
            tmux.keys("zzz-no-such-run", literal=True)
            tmux.keys("Enter")
            wait(tmux, has("filter: zzz-no-such-run", "0 shown"))
            tmux.keys("/", literal=True)
            wait(tmux, lambda t: any(ln.startswith("│") and "│  zzz-no-such-run" in ln
                                     for ln in t.splitlines()[2:4]))  # in the input box
            time.sleep(0.2)  # the input takes the focus after a refresh
            tmux.keys("End", "C-u")  # clear the input, then enter: the filter is cleared
            tmux.keys("Enter")
            wait(tmux, lacks("filter: zzz"))
            tmux.keys("/", literal=True)
            wait(tmux, has("text matches run names"))
            tmux.keys("Escape")
            wait(tmux, lacks("text matches run names"))

        def pause_keys() -> None:
            tmux.keys("p")
            wait(tmux, lambda t: "⏸ paused" in top_line(t))
            tmux.keys("p")
            wait(tmux, lambda t: "● live" in top_line(t))

        def warnings_keys() -> None:
            tmux.keys("w")
            wait(tmux, has("with warnings (w)"))
            tmux.keys("w")
            wait(tmux, lacks("with warnings (w)"))

        def sort_keys() -> None:
            tmux.keys("o")
            text = wait(tmux, has("sorted by Status"))
            arrow = "↓" if "sorted by Status ↓" in text else "↑"
            tmux.keys("O")
            wait(tmux, lambda t: "sorted by Status" in t and f"Status {arrow}" not in t)
            for _ in range(8):  # round the other columns: back to newest first
                tmux.keys("o")
            wait(tmux, lacks("sorted by"))

        def move_keys() -> None:
            # The demo is live (rows come and go): compare the charted run with the rows.
            def at(index: int) -> Callable[[str], bool]:
                def check(text: str) -> bool:
                    names = run_names(text)
                    title = chart_title(text)
                    return bool(names) and f"─ {names[index]}  ·" in title
                return check

            for key, index in (("g", 0), ("G", -1), ("k", -2), ("j", -1), ("Up", -2),
                               ("Down", -1), ("g", 0)):
                tmux.keys(key)
                wait(tmux, at(index))

        def details_keys() -> None:
            tmux.keys("i")
            wait(tmux, has("Run details", "run id"))
            tmux.keys("?", literal=True)  # help works on the dialog too
            wait(tmux, has("Everywhere", "Scroll down"))
            tmux.keys("Escape")
            wait(tmux, lacks("Everywhere"))
            tmux.keys("i")
            wait(tmux, lacks("Run details"))

        def chart_keys() -> None:
            before = chart_title(tmux.screen())
            tmux.keys("m")
            wait(tmux, lambda t: chart_title(t) != before)
            tmux.keys("M")
            wait(tmux, has("Chart which metric?"))
            tmux.keys("Escape")
            wait(tmux, lacks("Chart which metric?"))
            for key, shown in (("x", "x: relative"), ("y", "log y"), ("s", "smooth 0.6"),
                               ("L", "last 500")):
                tmux.keys(key)
                wait(tmux, has(shown))
            tmux.keys("x", "x", "y", "s", "s", "s", "s", "L", "L", "L")  # all back off
            wait(tmux, lacks("x: ", "log y", "smooth", "last 500", "last 50 "))

        def compare_keys() -> None:
            tmux.keys("g")
            time.sleep(0.3)
            tmux.keys("Space")
            wait(tmux, has("1 marked"))
            tmux.keys("c")
            wait(tmux, has("Mark at least two runs"))
            tmux.keys("j", "Space")
            wait(tmux, has("2 marked"))
            tmux.keys("c")
            wait(tmux, has("Compare 2 runs", "Marked runs · 2"))
            tmux.keys("d")
            wait(tmux, has("only what differs (d)"))
            tmux.keys("o")
            wait(tmux, has("Sort the runs by"))
            tmux.keys("j", "Enter")
            wait(tmux, has("sorted by"))
            tmux.keys("O")
            tmux.keys("e")
            wait(tmux, has("Exported 2 runs"))
            tmux.keys("m")
            wait(tmux, has("metric 2/"))
            tmux.keys("?", literal=True)
            wait(tmux, has("Everywhere", "Export CSV"))
            tmux.keys("Escape")
            wait(tmux, lacks("Everywhere"))
            tmux.keys("Escape")
            wait(tmux, lacks("Compare 2 runs"))
            wait(tmux, has("2 marked"))
            tmux.keys("u")
            wait(tmux, lacks("2 marked"))

        def fold_keys() -> None:
            # The tree: h l j k home G move, enter watches; then z on the sweep's parent run.
            before = [ln for ln in tmux.screen().splitlines() if "Runs · " in ln]
            tmux.keys("BTab", "Home", "h", "l", "G")
            tmux.keys("Enter")
            wait(tmux, lambda t: [ln for ln in t.splitlines() if "Runs · " in ln] != before)
            tmux.keys("k", "k", "Enter")  # the vision sweep: the last but two experiment
            wait(tmux, has("Runs · demo/vision/vit"))
            try:
                wait(tmux, has("▸"), timeout=3)
            except AssertionError:
                print("     (no parent run in the sweep yet: z not checked)")
                return
            tmux.keys("g")
            for _ in range(10):  # down to the parent row, folding each row until one opens
                tmux.keys("z")
                try:
                    wait(tmux, has("▾"), timeout=0.6)
                    break
                except AssertionError:
                    tmux.keys("j")
            wait(tmux, has("▾", "└ "))
            tmux.keys("z")
            wait(tmux, lacks("▾"))

        def refresh_key() -> None:
            tmux.keys("r")
            wait(tmux, has("Refreshing"))

        def tab_keys() -> None:
            tmux.resize(90, 30)  # narrow: the tree folds to a strip and widens on focus
            wait(tmux, lambda t: tree_width(t) <= 16)
            tmux.keys("BTab")
            wait(tmux, lambda t: tree_width(t) > 30)
            tmux.keys("Tab")
            wait(tmux, lambda t: tree_width(t) <= 16)
            tmux.resize(WIDTH, HEIGHT)

        def palette_keys() -> None:
            tmux.keys("C-p")
            wait(tmux, has("Search for commands"))
            wait(tmux, has("Cursor"))  # the palette's list is up: its input has the focus
            tmux.keys("pause", literal=True)
            # The search's own list (not the full list it replaces): enter runs its only hit.
            wait(tmux, lambda t: "🔎 pause" in t and "key p" in t and "Cursor up" not in t)
            tmux.keys("Enter")
            wait(tmux, lambda t: "⏸ paused" in top_line(t))
            tmux.keys("p")
            wait(tmux, lambda t: "● live" in top_line(t))

        def connection_key() -> None:
            tmux.keys("e")
            wait(tmux, has("Connection · escape closes", "store"))
            tmux.keys("Escape")
            wait(tmux, lacks("Connection · escape closes"))

        def pair_key() -> None:
            tmux.keys("P")
            wait(tmux, has("on which pair?", "automatic:"))
            tmux.keys("Escape")
            wait(tmux, lacks("on which pair?"))

        def now_keys() -> None:
            tmux.keys("n")
            wait(tmux, has("running", "ended in the last hour", "Warning", "Experiment"))
            tmux.keys("Enter")  # the first run of the list, in its experiment
            wait(tmux, lacks("ended in the last hour"))
            wait(tmux, has("Runs · demo/"))
            tmux.keys("n")
            wait(tmux, has("ended in the last hour"))
            tmux.keys("Escape")
            wait(tmux, lacks("ended in the last hour"))

        def tree_width(text: str) -> int:
            return len(text.splitlines()[1].split("╮")[0])

        def focus_tree() -> None:
            # At 90 columns the tree is a strip (<= 16) unless focused (> 30; app.tcss:
            # -narrow :focus-within), which shows where the focus is. shift+tab goes chart ->
            # table -> tree: one or two presses, depending on where an earlier step left the
            # focus (opening a run from the Now view focuses the chart once the run is loaded,
            # which under load comes late). Each press is waited for before the next.
            wait(tmux, lambda t: tree_width(t) <= 16)
            for _ in range(3):
                tmux.keys("BTab")
                try:
                    wait(tmux, lambda t: tree_width(t) > 30, timeout=10)
                    return
                except AssertionError:
                    continue
            wait(tmux, lambda t: tree_width(t) > 30)

        def goto_keys() -> None:
            # (The palette's Go to is driven by Pilot tests: typing into a palette that is
            # still opening can land in the app here.)
            tmux.resize(90, 30)
            try:
                for letters, header in (("bert", "Runs · demo/nlp/bert-sentiment"),
                                        ("resn", "Runs · demo/vision/resnet18-cifar10")):
                    focus_tree()
                    tmux.keys("g")
                    wait(tmux, has("go to:"))
                    tmux.keys(letters, literal=True)
                    wait(tmux, has(f"go to: {letters}"))
                    tmux.keys("Enter")
                    wait(tmux, has(header))
            finally:
                tmux.resize(WIDTH, HEIGHT)

        def quit_key() -> None:
            tmux.keys("q")
            deadline = time.monotonic() + 10
            while not tmux.dead():
                if time.monotonic() > deadline:
                    raise AssertionError("q did not quit")
                time.sleep(0.1)

        for name, action in (("? / f1 help", help_keys), ("/ filter", filter_keys),
                             ("p pause", pause_keys), ("w warnings only", warnings_keys),
                             ("o / O sort", sort_keys), ("g G j k ↑ ↓ move", move_keys),
                             ("i details", details_keys), ("e connection", connection_key),
                             ("P pair", pair_key),
                             ("m M x y s L chart", chart_keys),
                             ("space c d o O e m u compare", compare_keys),
                             ("r refresh", refresh_key), ("tab / shift+tab panes", tab_keys),
                             ("ctrl+p palette", palette_keys),
                             ("tree h l enter, z fold", fold_keys),
                             ("n Now view, enter opens a run", now_keys),
                             ("g + letters in the tree", goto_keys),
                             ("q quit", quit_key)):
            step(name, action)
    finally:
        tmux.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    return failures


if __name__ == "__main__":
    started = time.monotonic()
    failed = run()
    print(f"{'FAILED' if failed else 'all keys ok'} in {time.monotonic() - started:.0f} s")
    sys.exit(1 if failed else 0)
