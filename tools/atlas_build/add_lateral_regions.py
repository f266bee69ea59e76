"""Add the lateral regions (outer knee, outer ankle, flank) to needlepoint/atlas/data/regions.json.

Run once, from the repository root: ``python tools/atlas_build/add_lateral_regions.py``. Each new region is carved
from the outer edge of the region(s) it used to belong to, by cutting those polygons along a line (Sutherland-Hodgman
clipping against a half-plane): the outer piece becomes the new region, the inner piece stays with the old code.
So the regions still partition the CHOIR polygons, never overlap, and every old code is kept. The new regions lie in
the same CHOIR region as the one they were cut from.

Each side is cut on its own (the CHOIR left and right outlines are not exact mirrors); the right-side line is given
on the viewer's left half of the front view, and the left-side line is its mirror about x = 200. The script refuses
to run twice (it stops if a new code is present already).
"""

import json
import math
import re
import sys
from pathlib import Path

REGIONS = Path(sys.argv[1] if len(sys.argv) > 1 else "needlepoint/atlas/data/regions.json")

# (new base code, new base name, the base codes it is cut from, CHOIR key (right, left),
#  cutting line on the patient's right side (x1, y1, x2, y2), drawn downwards: the part on the viewer's left of it
#  (the outer side) becomes the new region; insert after this base code)
NEW = [
    ("flank", "Flank (side of the waist)", ["upper-abdomen", "lower-abdomen"], ("f16", "f17"), (148, 290, 148, 370),
     "lower-abdomen"),
    ("lateral-knee", "Outer knee", ["front-of-knee"], ("f29", "f30"), (157.5, 548, 154.5, 610), "front-of-knee"),
    ("lateral-ankle", "Outer ankle (lateral malleolus)", ["front-of-ankle"], ("f33", "f34"), (165, 694, 173.5, 741),
     "front-of-ankle"),
]
SUFFIX = {"right": "-r", "left": "-l"}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def polygons(svg):
    """The polygons of an SVG path of closed polygons, as lists of (x, y)."""
    out = []
    for part in svg.split("Z"):
        numbers = [float(n) for n in NUMBER.findall(part)]
        if numbers:
            out.append(list(zip(numbers[0::2], numbers[1::2], strict=True)))
    return out


def clip(points, line, keep_outer):
    """The part of the polygon on the outer side of the cutting line (or on its inner side)."""
    (x1, y1, x2, y2) = line

    def side(p):
        value = (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1)
        return value if keep_outer else -value

    def cross(p, q):
        a, b = side(p), side(q)
        t = a / (a - b)
        return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))

    out = []
    for i, current in enumerate(points):
        previous = points[i - 1]
        if side(current) >= 0:
            if side(previous) < 0:
                out.append(cross(previous, current))
            out.append(current)
        elif side(previous) >= 0:
            out.append(cross(previous, current))
    return out


def dedupe(points):
    """Drop repeated vertices (rounded to 0.1) that clipping can leave."""
    out = []
    for x, y in points:
        p = (round(x, 1), round(y, 1))
        if not out or out[-1] != p:
            out.append(p)
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def merge(pieces):
    """One outline for pieces that share an edge (the flank is cut from two regions).

    The pieces here form a strip that is star-shaped about its centre, so going round the centre by angle gives
    the outline; points closer than 0.6 units (the shared edge seen from both pieces) are kept once.
    """
    points = []
    for p in (p for piece in pieces for p in piece):
        if all(abs(p[0] - q[0]) >= 0.6 or abs(p[1] - q[1]) >= 0.6 for q in points):
            points.append(p)
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    return sorted(points, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))


def svg_of(points):
    text = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)
    return f"M{text}Z"


def _fmt(value):
    return f"{value:.1f}".rstrip("0").rstrip(".")


def mirrored(line):
    x1, y1, x2, y2 = line
    # Mirror about x = 200 and reverse the direction, so the same sign of the cross product is again the outer side.
    return (400 - x2, y2, 400 - x1, y1)


def main():
    data = json.loads(REGIONS.read_text(encoding="utf-8"))
    regions = data["regions"]
    by_code = {r["code"]: r for r in regions}
    for base, name, sources, choir, line, after in NEW:
        for side in ("right", "left"):
            code = base + SUFFIX[side]
            if code in by_code:
                raise SystemExit(f"{code} exists already; the script has run")
            cut = line if side == "right" else mirrored(line)
            pieces = []
            for source in sources:
                old = by_code[source + SUFFIX[side]]
                (outline,) = polygons(old["svg"])
                outer = dedupe(clip(outline, cut, keep_outer=True))
                inner = dedupe(clip(outline, cut, keep_outer=False))
                old["svg"] = svg_of(inner)
                pieces.append(outer)
            shape = pieces[0] if len(pieces) == 1 else merge(pieces)
            new = {
                "code": code,
                "name": f"{name} ({side})",
                "view": "front",
                "side": side,
                "svg": svg_of(shape),
                "choir": [choir[0] if side == "right" else choir[1]],
            }
            position = regions.index(by_code[after + SUFFIX[side]]) + 1
            regions.insert(position, new)
            by_code[code] = new
    REGIONS.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
