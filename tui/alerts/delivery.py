"""Where events go: stdout (JSON Lines, or one readable line each), a command run per event,
a webhook. Each destination has its own bounded queue and one consumer task, so a slow or dead
receiver never holds up polling nor the others, and events reach each one in order. Failures
are one line on stderr, never fatal.

Webhooks: Slack (hooks.slack.com) gets `{"text": ...}`, Discord (discord.com/api/webhooks)
`{"content": ...}`, anything else the event's JSON. A receiver that is down or answers 5xx or
429 gets the same event again, backing off up to BACKOFF_MAX s (Retry-After honoured), so
nothing is lost or reordered while it is away; any other 4xx drops that event (retrying
would block the rest) and says so. A full queue drops its oldest event and counts it.

`pending()` is what a destination has not delivered yet, in order (the event being sent
first): the watcher keeps it in its state file at exit, so a restart delivers it first.
Stdout is written by a thread of its own: a reader that stops reading (a full pipe) holds up
that destination alone, never the polling loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from mlflow_tui.alerts.events import Event

QUEUE_SIZE = 1000
BACKOFF_MAX = 30.0
EXEC_TIMEOUT = 60.0


def redact_url(url: str) -> str:
    """A webhook URL without its secret path (Slack and Discord put the token there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/…"


def payload(url: str, event: Event, line: str) -> dict[str, Any]:
    host = (urlsplit(url).hostname or "").lower()
    if host == "hooks.slack.com" or host.endswith(".slack.com"):
        return {"text": line}
    if host in ("discord.com", "discordapp.com") or host.endswith(".discord.com"):
        return {"content": line[:2000]}
    return json.loads(event.to_json())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Sink:
    """One destination: a queue and the task that empties it in order."""

    name = "sink"

    def __init__(self, report: Callable[[str], None]) -> None:
        self.report = report
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = 0
        self.delivered = 0
        self._task: asyncio.Task[None] | None = None
        self._waiting: deque[Event] = deque()  # the queue's events, in order
        self._sending: Event | None = None
        # Called when the queue is emptied (the watcher saves its state: nothing pending).
        self.on_idle: Callable[[], None] | None = None

    @property
    def key(self) -> str:
        """Names this destination in the state file (no secret in it)."""
        return self.name

    def pending(self) -> list[Event]:
        """Not delivered yet, oldest first (the one being sent, then the queue)."""
        return ([self._sending] if self._sending is not None else []) + list(self._waiting)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def put(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self._waiting.popleft()
            self.queue.task_done()
            self.dropped += 1
            self.report(f"{self.name}: too far behind, dropped the oldest event "
                        f"({self.dropped} so far)")
        self.queue.put_nowait(event)
        self._waiting.append(event)

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            self._waiting.popleft()
            self._sending = event
            try:
                await self.send(event)
                self.delivered += 1
                self._sending = None
            except asyncio.CancelledError:
                raise  # stopped at exit: still pending, kept for the next start
            except Exception as exc:  # noqa: BLE001 - a destination never stops the watcher
                self.report(f"{self.name}: {exc}")
                self._sending = None
            finally:
                if self._sending is None and not self._waiting and self.on_idle is not None:
                    self.on_idle()
                self.queue.task_done()

    async def send(self, event: Event) -> None:
        raise NotImplementedError

    async def close(self, timeout: float) -> None:
        """Deliver what is queued (at most `timeout` s), then stop."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        left = len(self.pending())
        if left:
            self.report(f"{self.name}: {left} events not delivered at exit (kept for the "
                        "next start when there is a state file)")


class StdoutSink(Sink):
    name = "stdout"

    def __init__(self, report: Callable[[str], None], *, text: bool = False,
                 stream: TextIO | None = None, clean: Callable[[str], str] = str) -> None:
        super().__init__(report)
        self.text = text
        self.stream = stream or sys.stdout
        self.clean = clean
        self._lines: queue.SimpleQueue[tuple[str, asyncio.Future[None]] | None] = (
            queue.SimpleQueue())
        self._writer: threading.Thread | None = None

    def _write_lines(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            item = self._lines.get()
            if item is None:
                return
            line, done = item
            error: BaseException | None = None
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except Exception as exc:  # noqa: BLE001 - reported by send()
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle, done, error)

    async def send(self, event: Event) -> None:
        line = self.clean(event.text()) if self.text else event.to_json()
        loop = asyncio.get_running_loop()
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_lines, args=(loop,),
                                            daemon=True, name="watch-stdout")
            self._writer.start()
        done: asyncio.Future[None] = loop.create_future()
        self._lines.put((line, done))
        await done

    async def close(self, timeout: float) -> None:
        await super().close(timeout)
        self._lines.put(None)  # the writer ends after its line (a stalled one is a daemon)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


class ExecSink(Sink):
    """A shell command per event: the event's JSON on stdin and in MLFLOW_TUI_JSON, and its
    main fields in MLFLOW_TUI_EVENT, _RUN_ID, _RUN_NAME, _EXPERIMENT, _STATUS, _WARNING,
    _REASON."""

    name = "exec"

    def __init__(self, report: Callable[[str], None], command: str,
                 environ: Mapping[str, str] | None = None) -> None:
        super().__init__(report)
        self.command = command
        self.environ = dict(os.environ if environ is None else environ)

    @property
    def key(self) -> str:
        return f"exec {_digest(self.command)}"

    async def send(self, event: Event) -> None:
        data = event.to_json()
        env = dict(self.environ, MLFLOW_TUI_JSON=data, MLFLOW_TUI_EVENT=event.event,
                   MLFLOW_TUI_RUN_ID=event.run_id, MLFLOW_TUI_RUN_NAME=event.run,
                   MLFLOW_TUI_EXPERIMENT=event.experiment, MLFLOW_TUI_STATUS=event.status,
                   MLFLOW_TUI_WARNING=event.warning or "", MLFLOW_TUI_REASON=event.reason or "")
        proc = await asyncio.create_subprocess_shell(
            self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env=env)
        try:
            _, err = await asyncio.wait_for(proc.communicate(data.encode() + b"\n"),
                                            EXEC_TIMEOUT)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"the command took over {EXEC_TIMEOUT:.0f} s for "
                               f"{event.event}: killed") from None
        if proc.returncode:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] if err else []
            raise RuntimeError(f"the command exited {proc.returncode} for {event.event}"
                               + (f": {tail[0][:200]}" if tail else ""))


class WebhookSink(Sink):
    def __init__(self, report: Callable[[str], None], url: str, *,
                 client: httpx.AsyncClient | None = None, backoff_max: float = BACKOFF_MAX,
                 sleep: Callable[[float], Any] = asyncio.sleep,
                 line: Callable[[Event], str] | None = None) -> None:
        super().__init__(report)
        self.url = url
        self.name = f"webhook {redact_url(url)}"
        self.client = client or httpx.AsyncClient(timeout=10.0)
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.line = line or (lambda e: e.text())
        self.retries = 0

    @property
    def key(self) -> str:
        return f"webhook {_digest(self.url)}"

    async def send(self, event: Event) -> None:
        body = payload(self.url, event, self.line(event))
        delay = min(1.0, self.backoff_max)
        down = False
        while True:
            wait = delay
            try:
                response = await self.client.post(self.url, json=body)
            except httpx.HTTPError as exc:
                problem = f"unreachable ({type(exc).__name__})"
            else:
                status = response.status_code
                if status < 300:
                    if down:
                        self.report(f"{self.name}: delivering again")
                    return
                if status != 429 and status < 500:
                    raise RuntimeError(f"refused {event.event} with {status}: event dropped")
                problem = f"answered {status}"
                retry_after = response.headers.get("retry-after", "")
                if retry_after.isdigit():
                    wait = min(self.backoff_max, float(retry_after))
            if not down:
                self.report(f"{self.name}: {problem}; retrying, events wait in order")
                down = True
            self.retries += 1
            await self.sleep(wait)
            delay = min(self.backoff_max, delay * 2)

    async def close(self, timeout: float) -> None:
        await super().close(timeout)
        await self.client.aclose()


__all__ = ["ExecSink", "Sink", "StdoutSink", "WebhookSink", "payload", "redact_url"]
