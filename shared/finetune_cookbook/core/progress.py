"""Progress of a long prediction on stderr: rows done, rate and time left.

200,000 reviews take about 20 minutes on a laptop's CPU; with nothing on the screen a user cannot tell a slow run
from a stuck one. Each task's prediction loop calls `advance(rows)` after each batch, inside `rows_of(total)`;
nothing shows unless a command turned the display on (`shown()`: `cookbook predict` does), so notebooks,
tests and the HTTP service stay quiet. On a terminal the line is redrawn in place; otherwise (a log file, CI)
a line is written every `LOG_EVERY` seconds. stderr, never stdout: without --output the predictions themselves
go to stdout.
"""

from __future__ import annotations

import contextlib
import sys
import time

LOG_EVERY = 10.0  # seconds between lines when stderr is not a terminal
REDRAW_EVERY = 0.25  # seconds between redraws on a terminal

_state = {"on": False, "bar": None}


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Rows:
    """One prediction's count of rows done, drawn on `stream`."""

    def __init__(self, total: int, what: str, stream, clock=time.monotonic):
        self.total, self.what, self.stream, self.clock = total, what, stream, clock
        self.done = 0
        self.started = self.clock()
        self.drawn_at = self.started
        self.in_place = getattr(stream, "isatty", lambda: False)()

    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        left = f", {_clock((self.total - self.done) / rate)} left" if rate > 0 and self.done < self.total else ""
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        return f"predicting: {self.done:,}/{self.total:,} {self.what}{share}, {rate:,.1f} {self.what}/s{left}"

    def advance(self, rows: int) -> None:
        self.done += rows
        now = self.clock()
        if now - self.drawn_at >= (REDRAW_EVERY if self.in_place else LOG_EVERY):
            self.draw()
            self.drawn_at = now

    def draw(self, end: str = "") -> None:
        if self.in_place:
            self.stream.write(f"\r\x1b[K{self.line()}{end}")
        else:
            self.stream.write(f"{self.line()}\n")
        self.stream.flush()

    def finish(self) -> None:
        # a run shorter than one interval shows nothing: the result itself is the news
        if self.clock() - self.started >= (REDRAW_EVERY if self.in_place else LOG_EVERY):
            self.draw("\n")


@contextlib.contextmanager
def shown(stream=None):
    """Inside, `rows_of` draws progress on `stream` (default: stderr)."""
    previous = dict(_state)
    _state.update(on=True, stream=stream)
    try:
        yield
    finally:
        _state.clear()
        _state.update(previous)


@contextlib.contextmanager
def rows_of(total: int, what: str = "rows"):
    """A prediction over `total` rows; the block calls `advance(n)` after each batch. Nested blocks (a task's
    predict calling another's) count once, in the outermost."""
    if not _state["on"] or _state["bar"] is not None:
        yield lambda rows: None
        return
    bar = Rows(total, what, _state.get("stream") or sys.stderr)
    _state["bar"] = bar
    try:
        yield bar.advance
        bar.finish()
    finally:
        _state["bar"] = None
