"""Server-rendered SVG geometry for the MFA trend chart (no chart library, no script).

``trend_chart`` turns daily shares per role into polylines in a fixed viewBox; the template
draws them. Shares are 0…1; days without a snapshot are gaps (a series breaks there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 36
ROLE_STYLE = {  # colour (≥ 4.5:1 on white), dash pattern and marker: never colour alone
    "staff": ("#1f5fa8", "", "circle"),
    "pupil": ("#8a3b00", "6 3", "square"),
    "substitute": ("#4b5a1c", "2 3", "diamond"),
}


@dataclass(frozen=True, slots=True)
class Series:
    role: str
    colour: str
    dash: str
    marker: str
    segments: list[str]  # "x,y x,y …" per unbroken run of days
    points: list[tuple[float, float]]
    target_y: float | None


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    series: list[Series] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)  # (y, percent)
    x_ticks: list[tuple[float, date]] = field(default_factory=list)
    plot: tuple[int, int, int, int] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    days: int = 0


def trend_chart(
    start: date,
    end: date,
    shares: Mapping[str, Mapping[date, float | None]],
    targets: Mapping[str, float],
    roles: Sequence[str],
) -> Chart:
    """Geometry of one line per role over ``[start, end]`` (y: 0–100 %), with target lines."""
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    days = max((end - start).days, 1)

    def x(d: date) -> float:
        return round(x0 + (x1 - x0) * (d - start).days / days, 1)

    def y(share: float) -> float:
        return round(y1 - (y1 - y0) * max(0.0, min(1.0, share)), 1)

    chart = Chart(days=days + 1)
    chart.y_ticks = [(y(p / 100), p) for p in range(0, 101, 25)]
    step = max(1, days // 5)
    offsets = [i for i in range(0, days + 1, step) if days - i >= step / 2 or i == 0] + [days]
    chart.x_ticks = [
        (x(start.fromordinal(start.toordinal() + i)), start.fromordinal(start.toordinal() + i)) for i in offsets
    ]
    for role in roles:
        colour, dash, marker = ROLE_STYLE.get(role, ("#333333", "", "circle"))
        by_day = shares.get(role, {})
        segments: list[str] = []
        run: list[str] = []
        points: list[tuple[float, float]] = []
        for i in range(days + 1):
            d = start.fromordinal(start.toordinal() + i)
            share = by_day.get(d)
            if share is None:
                if run:
                    segments.append(" ".join(run))
                run = []
                continue
            pt = (x(d), y(share))
            points.append(pt)
            run.append(f"{pt[0]},{pt[1]}")
        if run:
            segments.append(" ".join(run))
        target = targets.get(role)
        chart.series.append(
            Series(role, colour, dash, marker, segments, points, y(target) if target is not None else None)
        )
    return chart
