"""A progress bar for long Monte Carlo runs: drawn on a terminal, silent otherwise."""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """Samples done, rate and time left, redrawn in place on one line.

    Args:
        total: number of samples the run will draw.
        enabled: draw the bar; ``None`` (default) draws it only when ``stream``
            is a terminal, so logs and CI output stay clean.
        stream: where to draw (default ``sys.stderr``).
        min_interval: seconds between redraws.

    Example:
        >>> import io
        >>> bar = ProgressBar(1000, stream=io.StringIO())  # not a terminal
        >>> bar.enabled
        False
        >>> bar = ProgressBar(1000, enabled=True, stream=io.StringIO(), min_interval=0)
        >>> bar.update(500)
        >>> "500/1.00k samples" in bar.stream.getvalue()
        True
    """

    width = 24

    def __init__(self, total, *, enabled=None, stream=None, min_interval=0.1):
        self.total = int(total)
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = bool(enabled)
        self.min_interval = min_interval
        self._start = time.perf_counter()
        self._last_draw = -float("inf")
        self._drawn = False

    def update(self, done):
        """Records that ``done`` samples are finished and redraws if due."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last_draw < self.min_interval and done < self.total:
            return
        self._last_draw = now
        elapsed = max(now - self._start, 1e-9)
        rate = done / elapsed
        left = (self.total - done) / rate if rate > 0 else float("inf")
        filled = int(self.width * done / max(self.total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(
            f"\r[{bar}] {_si(done)}/{_si(self.total)} samples  {_si(rate)}/s  {left:5.1f} s left "
        )
        self.stream.flush()
        self._drawn = True

    def close(self):
        """Ends the line the bar was drawn on (if it was drawn)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _si(value):
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.2f}{suffix}"
    return f"{value:.0f}"
