"""The /stats chart: texts per week as bars, readers and subscribers over time as lines, as a PNG."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ChartLabels:
    """The chart's words, in the admin's language (the handlers translate them)."""

    title: str
    documents: str
    readers: str
    subscribers: str
    people: str
    empty: str


def render_chart(
    documents: Sequence[tuple[date, int]],
    readers: Sequence[tuple[date, int]],
    subscribers: Sequence[tuple[date, int]],
    labels: ChartLabels,
) -> bytes:
    """A PNG: documents per week as bars; readers and subscribers over time as lines on a second axis."""
    fig = chart_figure(documents, readers, subscribers, labels)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def chart_figure(
    documents: Sequence[tuple[date, int]],
    readers: Sequence[tuple[date, int]],
    subscribers: Sequence[tuple[date, int]],
    labels: ChartLabels,
) -> Figure:
    """The chart before it is drawn (the tests read its ticks). Counts are whole, so are the ticks; the
    months along the bottom are every month of the period, so none that has texts is left unnamed."""
    # Imported here: matplotlib takes a noticeable while to import, and only /stats needs it. The Figure
    # API (no pyplot) keeps no global state, so charts can be drawn in worker threads.
    from matplotlib.dates import DateFormatter, MonthLocator
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.subplots()
    ax.set_title(labels.title)
    if not documents and not readers and not subscribers:
        ax.text(0.5, 0.5, labels.empty, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        if documents:
            ax.bar(
                _day_numbers([d for d, _ in documents]),
                [n for _, n in documents],
                width=5,
                color="#4c72b0",
                label=labels.documents,
            )
        ax.set_ylabel(labels.documents)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        people_ax = ax.twinx()
        for series, label, color in (
            (readers, labels.readers, "#dd8452"),
            (subscribers, labels.subscribers, "#55a868"),
        ):
            if series:
                people_ax.plot(
                    _day_numbers([d for d, _ in series]),
                    [n for _, n in series],
                    color=color,
                    marker="o",
                    markersize=3,
                    label=label,
                )
        people_ax.set_ylabel(labels.people)
        people_ax.set_ylim(bottom=0)
        people_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis_date()
        days = [d for series in (documents, readers, subscribers) for d, _ in series]
        first, last = min(days).replace(day=1), max(days) + timedelta(days=7)
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        # From the first of the first month, so that its tick (and name) is on the chart.
        ax.set_xlim(*_day_numbers([first, last]))
        # Every month named while they fit; beyond a year and a half every second, third… month.
        # matplotlib.dates has no annotations.
        ax.xaxis.set_major_locator(MonthLocator(interval=max(1, -(-months // 18))))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(DateFormatter("%Y-%m"))  # type: ignore[no-untyped-call]
        bars, bar_labels = ax.get_legend_handles_labels()
        lines, line_labels = people_ax.get_legend_handles_labels()
        people_ax.legend(bars + lines, bar_labels + line_labels, loc="upper left")
        fig.autofmt_xdate()
    return fig


def _day_numbers(days: Sequence[date]) -> list[float]:
    # matplotlib's date axis counts days from its default epoch, 1970-01-01 (date2num is untyped).
    epoch = date(1970, 1, 1)
    return [float((d - epoch).days) for d in days]
