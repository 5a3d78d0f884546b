"""The config file: `$XDG_CONFIG_HOME/mlflow-tui/config.toml` (else `~/.config/...`), or the
file `--config PATH` names.

Example::

    uri = "http://127.0.0.1:5000"     # MLFLOW_TRACKING_URI and the URI argument win over it
    experiments = ["team/churn", "team/fraud"]
    interval = 5
    pair = ["train_loss", "val_loss"]
    stall_after = 600
    stall_factor = 10
    explode_factor = 10
    bell = false
    theme = "nord"
    max_runs = 100                     # mlflow-tui status

    [keymap]                           # binding id = keys (comma-separated)
    "monitor.refresh" = "R,f5"
    "app.quit" = "ctrl+q"

    [pairs]                            # experiment name = [train, validation] (P in the app)
    "team/churn" = ["loss", "eval_loss"]

    token_command = "az account get-access-token --resource api://mlflow -o json"
    workspace = "research"             # MLflow 3 workspaces (X-MLFLOW-WORKSPACE)
    [headers]                          # sent with every request
    Authorization = "Snowflake Token=\"...\""

Every key is checked: an unknown key, a value of the wrong type or a TOML syntax error is a
`ConfigError` whose one-line message names the file, the line and the key. Standard library
only (tomllib); no Textual import: theme and keymap names are checked against the app by
`check_names`, which the caller feeds with what Textual knows.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from mlflow_tui.settings.config import Settings

__all__ = ["ConfigError", "ConfigFile", "KEYS", "check_names", "default_path", "load",
           "save_pair"]

APP_DIR = "mlflow-tui"
FILE_NAME = "config.toml"


class ConfigError(ValueError):
    """The config file cannot be used. The message is one line, naming the file, line and key."""


@dataclass
class ConfigFile:
    """The checked values of a config file (only the keys it sets) and where each key is."""

    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def line_of(self, *key: str) -> int | None:
        """The line that sets `key` (or the nearest enclosing table's line)."""
        for n in range(len(key), 0, -1):
            line = self.lines.get(key[:n])
            if line is not None:
                return line
        return None

    def error(self, message: str, *key: str) -> ConfigError:
        return ConfigError(_where(self.path, self.line_of(*key)) + message)

    def keymap_error(self, message: str, binding_id: str) -> ConfigError:
        """An error about one keymap entry, written `"a.b" = ...` or bare `a.b = ...`."""
        line = (self.lines.get(("keymap", binding_id))
                or self.line_of("keymap", *binding_id.split(".")))
        return ConfigError(_where(self.path, line) + message)

    def apply(self, settings: Settings) -> Settings:
        """Write the file's values into `settings` (the file layer: over the defaults)."""
        for name, value in self.values.items():
            if name == "pair":
                value = tuple(value)
            elif name in ("experiments",):
                value = list(value)
            elif name in ("keymap", "pairs", "headers"):
                value = dict(value)
            setattr(settings, {"webhook": "webhooks", "exec": "exec_command"}.get(name, name),
                    value)
        return settings


def default_path(environ: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/mlflow-tui/config.toml`, else `~/.config/mlflow-tui/config.toml`.
    A relative XDG_CONFIG_HOME is ignored, as the XDG spec says."""
    xdg = environ.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / APP_DIR / FILE_NAME


def _where(path: Path | None, line: int | None) -> str:
    where = str(path) if path is not None else "config"
    return f"{where}, line {line}: " if line else f"{where}: "


# ---------------------------------------------------------------------- value checks
def _number(low: float, high: float = math.inf, *, low_open: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("a number")
        value = float(value)
        too_low = value <= low if low_open else value < low
        if math.isnan(value) or too_low or value > high:
            bound = f"more than {low:g}" if low_open else f"at least {low:g}"
            if high != math.inf:
                bound = f"between {low:g} and {high:g}"
            raise ValueError(bound)
        return value

    return check


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("a whole number")
    if value < 1:
        raise ValueError("at least 1")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _webhooks(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(
            isinstance(v, str) and v.strip().lower().startswith(("http://", "https://"))
            for v in items):
        raise ValueError('an http(s) URL, or a list of them: "https://hooks.slack.com/..."')
    return [v.strip() for v in items]


def _notify(value: Any) -> str | None:
    """Desktop notifications: true (the terminal's own protocol), false, or one of
    "auto", "osc777", "osc9", "osc99"."""
    from mlflow_tui.alerts.notify import KINDS

    if isinstance(value, bool):
        return "auto" if value else None
    if isinstance(value, str) and value.strip().lower() in KINDS:
        return value.strip().lower()
    raise ValueError("true, false, or one of " + ", ".join(f'"{k}"' for k in KINDS))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    if not value.strip():
        raise ValueError("not empty")
    return value.strip()


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        raise TypeError('a list of strings, e.g. ["team/churn"]')
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError('a list of strings, e.g. ["team/churn"]')
    names = [v.strip() for v in value]
    if not all(names):
        raise ValueError("names that are not empty")
    return names


def _pair(value: Any) -> tuple[str, str]:
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = [v.strip() for v in value]
    else:
        raise TypeError('two metric keys, e.g. ["train_loss", "val_loss"]')
    if len(parts) != 2 or not all(parts):
        raise ValueError('two metric keys, e.g. ["train_loss", "val_loss"]')
    return parts[0], parts[1]


KEYS: dict[str, Callable[[Any], Any]] = {
    "uri": _text,
    "experiments": _names,
    "interval": _number(0.2, 3600),
    "pair": _pair,
    "stall_after": _number(0, low_open=True),
    "stall_factor": _number(1),
    "explode_factor": _number(1, low_open=True),
    "bell": _boolean,
    "notify": _notify,
    "webhook": _webhooks,  # mlflow-tui watch
    "exec": _text,  # mlflow-tui watch
    "theme": _text,
    "max_runs": _count,
    "token_command": _text,
    "workspace": _text,
    # "keymap", "pairs" and "headers" are tables, checked below
}

_TYPE_NAMES = {bool: "a boolean", int: "a whole number", float: "a number", str: "a string",
               list: "a list", dict: "a table"}


def _kind(value: Any) -> str:
    for cls, name in _TYPE_NAMES.items():
        if type(value) is cls:
            return name
    return type(value).__name__


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """`monitor.refresh = "R"` written bare is a nested table in TOML: give it its dotted id."""
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


# ---------------------------------------------------------------------- loading
def load(path: Path | None, *, required: bool = False) -> ConfigFile:
    """Read and check the config file at `path`. A missing file is an empty config unless
    `required` (the user named it with --config). Raises ConfigError."""
    if path is None:
        return ConfigFile()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: no such config file") from None
        return ConfigFile()
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(_where(path, line) + "the file is not UTF-8 text") from None
    return parse(text, path)


def parse(text: str, path: Path | None = None) -> ConfigFile:
    """Check the TOML `text`. Raises ConfigError naming the line and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)$", message)
        line = int(match.group(1)) if match else None
        reason = message[:match.start()].strip() if match else message
        raise ConfigError(_where(path, line) + f"TOML syntax error: {reason}") from None
    config = ConfigFile(path=path, lines=key_lines(text))
    for key, value in data.items():
        if key == "keymap":
            config.values["keymap"] = _keymap(config, value)
            continue
        if key == "pairs":
            config.values["pairs"] = _pairs(config, value)
            continue
        if key == "headers":
            config.values["headers"] = _headers(config, value)
            continue
        check = KEYS.get(key)
        if check is None:
            known = ", ".join(sorted([*KEYS, "keymap", "pairs", "headers"]))
            raise config.error(f"unknown key {key!r} (known keys: {known})", key)
        try:
            config.values[key] = check(value)
        except TypeError as exc:
            raise config.error(f"{key} must be {exc}, not {_kind(value)}", key) from None
        except ValueError as exc:
            raise config.error(f"{key} must be {exc}, not {value!r}", key) from None
    return config


def _keymap(config: ConfigFile, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise config.error(f"keymap must be a table of binding id = keys, not {_kind(value)}",
                           "keymap")
    out: dict[str, str] = {}
    for binding_id, keys in _flatten(value):
        if not isinstance(keys, str):
            raise config.keymap_error(f"keymap {binding_id!r} must be a string of keys such "
                                      f'as "ctrl+r" or "R,f5", not {_kind(keys)}', binding_id)
        parts = [k.strip() for k in keys.split(",")]
        if not all(parts) or any(" " in k for k in parts):
            raise config.keymap_error(f"keymap {binding_id!r}: {keys!r} is not a list of key "
                                      'names (comma-separated, e.g. "R,f5")', binding_id)
        out[binding_id] = ",".join(parts)
    return out


def _pairs(config: ConfigFile, value: Any) -> dict[str, tuple[str, str]]:
    if not isinstance(value, dict):
        raise config.error('pairs must be a table of experiment name = ["train", "validation"], '
                           f"not {_kind(value)}", "pairs")
    out: dict[str, tuple[str, str]] = {}
    for name, pair in value.items():
        try:
            out[name] = _pair(pair)
        except (TypeError, ValueError) as exc:
            raise config.error(f"pairs {name!r} must be {exc}", "pairs", name) from None
    return out


def _headers(config: ConfigFile, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise config.error('headers must be a table of name = "value", not ' + _kind(value),
                           "headers")
    out: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
            raise config.error(f"headers {name!r} must be a header name = a string value",
                               "headers", name)
        if "\n" in text or "\r" in text:
            raise config.error(f"headers {name!r}: a value cannot span lines", "headers", name)
        out[name] = text
    return out


def _table_of(line: str) -> tuple[str, ...] | None:
    header = _HEADER.match(line)
    return _key_parts(header.group("name")) if header else None


def save_pair(path: Path, experiment: str, pair: tuple[str, str] | None) -> None:
    """Remember (or, with None, forget) the pair chosen for `experiment` in the `[pairs]`
    table of the config file at `path`, keeping the rest of the file as written. Creates the
    file (and its folder) if needed. Raises ConfigError if the file cannot be used or would
    not stay valid TOML, OSError if it cannot be written."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    existing = parse(text, path)  # refuse to edit a file that is already broken
    key = json.dumps(experiment, ensure_ascii=False)
    line = None if pair is None else (f"{key} = [{json.dumps(pair[0], ensure_ascii=False)}, "
                                      f"{json.dumps(pair[1], ensure_ascii=False)}]")
    lines = text.splitlines()
    header = next((i for i, ln in enumerate(lines) if _table_of(ln) == ("pairs",)), None)
    if header is None:
        if "pairs" in existing.values:
            raise ConfigError(f"{path}: pairs is not written as a [pairs] table; "
                              "edit the file by hand")
        if line is None:
            return
        if lines and lines[-1].strip():
            lines.append("")
        lines += ["[pairs]", line]
    else:
        end = next((i for i in range(header + 1, len(lines)) if _table_of(lines[i])),
                   len(lines))
        found = None
        for i in range(header + 1, end):
            assign = _ASSIGN.match(lines[i])
            if assign and _key_parts(assign.group("key")) == (experiment,):
                found = i
                break
        if found is not None:
            if line is None:
                del lines[found]
            else:
                lines[found] = line
        elif line is not None:
            insert = end
            while insert > header + 1 and not lines[insert - 1].strip():
                insert -= 1
            lines.insert(insert, line)
    new_text = "\n".join(lines) + "\n"
    checked = parse(new_text, path)
    if pair is not None and checked.values.get("pairs", {}).get(experiment) != pair:
        raise ConfigError(f"{path}: could not record the pair; edit the file by hand")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)


def check_names(config: ConfigFile, themes: Iterable[str], binding_ids: Iterable[str]) -> None:
    """The theme must be one Textual knows and the keymap must name existing bindings.
    Raises ConfigError with the line of the offending key."""
    theme = config.values.get("theme")
    names = sorted(themes)
    if theme is not None and theme not in names:
        raise config.error(f"theme {theme!r} is not a theme (choose one of: {', '.join(names)})",
                           "theme")
    ids = set(binding_ids)
    for binding_id in config.values.get("keymap", {}):
        if binding_id not in ids:
            close = sorted(i for i in ids if i.split(".")[-1] == binding_id.split(".")[-1])
            hint = f" (did you mean {', '.join(close)}?)" if close else " (see ? in the app)"
            raise config.keymap_error(f"keymap: unknown binding id {binding_id!r}{hint}",
                                      binding_id)


# ---------------------------------------------------------------------- line numbers
_HEADER = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*(?P<key>(?:[A-Za-z0-9_-]+|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
                     r"(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"(?:[^\"\\]|\\.)*\"|'[^']*'))*)\s*=")
_KEY_PART = re.compile(r"[A-Za-z0-9_-]+|\"(?:[^\"\\]|\\.)*\"|'[^']*'")


def _key_parts(dotted: str) -> tuple[str, ...]:
    parts = []
    for token in _KEY_PART.findall(dotted):
        if token.startswith('"'):
            try:
                token = tomllib.loads(f"x = {token}")["x"]
            except tomllib.TOMLDecodeError:
                token = token[1:-1]
        elif token.startswith("'"):
            token = token[1:-1]
        parts.append(token)
    return tuple(parts)


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """{key path: line number} for the table headers and `key = value` lines of a TOML text
    (first occurrence). Good enough to point at a key; values spanning lines are skipped
    roughly (a line inside a multi-line string that looks like `key =` may be misread)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header:
            table = _key_parts(header.group("name"))
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            lines.setdefault(table + _key_parts(assign.group("key")), number)
            rest = line[assign.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
    return lines
