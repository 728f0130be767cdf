"""Bar charts on a real time axis, for inline SVG: a bar's x is its time, not its index."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Bucket widths a reader can name, in seconds.
STEPS = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400)


@dataclass
class Bar:
    at: datetime
    count: int
    x: int = 0
    y: int = 0
    width: int = 0
    height: int = 0


@dataclass
class Tick:
    at: datetime
    x: int
    anchor: str = "middle"


@dataclass
class TimeChart:
    start: datetime
    end: datetime
    step: timedelta
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)

    @property
    def label_format(self) -> str:
        """A Django date format that tells the ticks apart (seconds for a short send)."""
        span = self.end - self.start
        if span <= timedelta(minutes=10):
            return "H:i:s"
        return "H:i" if span <= timedelta(hours=20) else "j M H:i"


def step_for(span: timedelta, max_bars: int) -> timedelta:
    seconds = span.total_seconds() / max_bars
    return timedelta(seconds=next((s for s in STEPS if s >= seconds), STEPS[-1]))


def time_chart(times: Iterable[datetime], start: datetime, end: datetime, *, width: int = 600,
               height: int = 120, max_bars: int = 72, ticks: int = 4,
               step: timedelta | None = None) -> TimeChart:
    """Count ``times`` in buckets between ``start`` and ``end`` (at least one step apart)
    and place bars and ``ticks + 1`` axis ticks by time."""
    step = step or step_for(max(end - start, timedelta(seconds=10)), max_bars)
    end = max(end, start + step)
    counts: dict[int, int] = {}
    for t in times:
        if start <= t <= end:
            i = int((t - start) / step)
            counts[i] = counts.get(i, 0) + 1
    span = (end - start).total_seconds()
    chart = TimeChart(start, end, step)

    def x_of(at: datetime) -> int:
        return round((at - start).total_seconds() / span * width)

    top = max(counts.values(), default=0)
    bar_w = max(round(step.total_seconds() / span * width) - 1, 1)
    for i in sorted(counts):
        at = start + i * step
        h = max(1, round(counts[i] * height / top))
        chart.bars.append(Bar(at, counts[i], x=min(x_of(at), width - bar_w), y=height - h,
                              width=bar_w, height=h))
    for k in range(ticks + 1):
        at = start + (end - start) * k / ticks
        anchor = "start" if k == 0 else "end" if k == ticks else "middle"
        chart.ticks.append(Tick(at, x_of(at), anchor))
    return chart
