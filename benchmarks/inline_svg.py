"""What moving a plot's style attributes into presentation attributes costs (needlepoint/inline_svg.py).

    python benchmarks/inline_svg.py [--runs 50]

Draws the progress page's pain plot for 100 visits and an instrument plot with 40 points with matplotlib, keeps
matplotlib's raw SVG, and times ``without_inline_styles`` on it alone, beside the time matplotlib takes to write
the same SVG. Prints the SVG sizes and medians and 95th percentiles of RUNS runs. No database is used.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

from timing import percentiles, timed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
os.environ.setdefault("SECRET_KEY", "benchmark")


def _figures():  # type: ignore[no-untyped-def]
    """A pain-like plot (100 visits, before and after) and a series-like plot (40 points with a band)."""
    from needlepoint.outcomes import plots

    start = datetime(2026, 1, 5)
    days = [start + timedelta(days=3 * i) for i in range(100)]
    pain, ax = plots._figure(7.5, 2.8)
    ax.plot(days, [6 - (i % 5) for i in range(100)], marker="o", color=plots.BAD, label="Before")
    ax.plot(days, [4 - (i % 4) for i in range(100)], marker="^", color=plots.OK, label="After")
    ax.legend()
    series, ax = plots._figure(7.5, 2.6)
    ax.fill_between(days[:40], [20] * 40, [30] * 40, alpha=0.15, color=plots.OK)
    ax.plot(days[:40], [40 - i * 0.5 for i in range(40)], marker="o", color=plots.BRAND, linestyle="--")
    for i in range(0, 40, 4):
        ax.annotate(str(40 - i // 2), (days[i], 40 - i * 0.5))
    return {"pain plot, 100 visits": pain, "instrument plot, 40 points": series}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    import django

    django.setup()
    import matplotlib

    from needlepoint.inline_svg import without_inline_styles
    from needlepoint.outcomes import plots

    for name, fig in _figures().items():

        def write_svg(fig=fig) -> str:  # type: ignore[no-untyped-def]
            buffer = io.StringIO()
            with matplotlib.rc_context(plots.STYLE):
                fig.savefig(buffer, format="svg")
            return buffer.getvalue()

        raw = write_svg()
        converted = without_inline_styles(raw)
        print(f"{name}: SVG {len(raw) / 1024:.0f} KiB as matplotlib writes it, {len(converted) / 1024:.0f} KiB after")
        print(f"  matplotlib writes the SVG      {percentiles(timed(write_svg, args.runs), 7, 2)}")
        converting = timed(lambda raw=raw: without_inline_styles(raw), args.runs)
        print(f"  style= to attributes           {percentiles(converting, 7, 2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
