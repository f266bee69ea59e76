"""The atlas sub-commands of ``needlepoint``: ``atlas regions``, ``atlas muscles`` and ``suggest``.

They read the atlas data files and run the matcher; no database is needed, so they answer at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from needlepoint.atlas.catalogue import (
    CONDITION_CODES,
    DEPTH_FIGURE_LABEL,
    AtlasDataError,
    UnknownRegionError,
    body_map,
    find_region,
    muscles,
)

MAX_INTENSITY = 10


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], setup_django: Callable[..., None]
) -> None:
    """Add ``atlas`` (regions, muscles) and ``suggest`` to the ``needlepoint`` command."""
    atlas = subparsers.add_parser("atlas", help="list the atlas's body regions or muscles")
    atlas_sub = atlas.add_subparsers(dest="atlas_command", required=True)

    p = atlas_sub.add_parser("regions", help="body regions of the pain drawing: code, name, view, side")
    p.add_argument("--view", choices=["front", "back"], help="only the regions of one view")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_regions)

    p = atlas_sub.add_parser("muscles", help="muscles: id, name, body area, trigger points, conditions, hazard")
    p.add_argument("--condition", choices=CONDITION_CODES, help="only muscles listed for this condition")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_muscles)

    p = subparsers.add_parser(
        "suggest",
        help="rank the muscles whose referred pain explains a pain drawing",
        description="Rank the muscles whose referred-pain patterns explain the painful regions. "
        "Give region codes or names (see `needlepoint atlas regions`), optionally with a pain from 0 to 10: "
        "temple-r=6 'posterolateral neck (right)'.",
    )
    p.add_argument("regions", nargs="+", metavar="REGION", help="region code or name, optionally REGION=PAIN (0-10)")
    p.add_argument("--condition", choices=CONDITION_CODES, help="the episode's condition (favours its muscles)")
    p.add_argument("--limit", type=int, default=10, help="how many muscles to print (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_suggest)


def cmd_regions(args: argparse.Namespace) -> int:
    """Print the body regions."""
    rows = [r for r in body_map().regions.values() if args.view in (None, r.view)]
    if args.json:
        _print_json([{"code": r.code, "name": r.name, "view": r.view, "side": r.side} for r in rows])
        return 0
    width = max(len(r.code) for r in rows)
    for r in rows:
        print(f"{r.code:<{width}}  {r.view:<5}  {r.side:<7}  {r.name}")
    print(f"\n{len(rows)} regions. {body_map().choir_attribution}")
    return 0


def cmd_muscles(args: argparse.Namespace) -> int:
    """Print the muscles."""
    rows = [m for m in muscles().values() if args.condition in (None, *m.conditions)]
    if args.json:
        _print_json(
            [
                {
                    "id": m.id,
                    "name": m.name,
                    "body_area": m.body_area,
                    "trigger_points": [tp.code for tp in m.trigger_points],
                    "conditions": list(m.conditions),
                    "hazard_kinds": list(m.hazard.kinds),
                    "unverified": m.unverified,
                }
                for m in rows
            ]
        )
        return 0
    width = max(len(m.id) for m in rows) if rows else 0
    for m in rows:
        flag = "  (unverified)" if m.unverified else ""
        print(f"{m.id:<{width}}  {m.name}  [{', '.join(m.hazard.kinds)}]{flag}")
    print(f"\n{len(rows)} muscles.")
    return 0


def parse_region_argument(text: str) -> tuple[str, int | None]:
    """``REGION`` or ``REGION=PAIN`` as (region code, pain or None); raises ValueError with a readable message."""
    name, sep, pain = text.rpartition("=") if "=" in text else (text, "", "")
    intensity: int | None = None
    if sep:
        try:
            intensity = int(pain)
        except ValueError:
            raise ValueError(
                f"Pain for {name!r} must be a whole number from 0 to {MAX_INTENSITY}, not {pain!r}."
            ) from None
        if not 0 <= intensity <= MAX_INTENSITY:
            raise ValueError(f"Pain for {name!r} must be from 0 to {MAX_INTENSITY}, not {intensity}.")
    return find_region(name).code, intensity


def cmd_suggest(args: argparse.Namespace) -> int:
    """Print the ranked muscles for the regions given."""
    from needlepoint.atlas.matcher import rank_muscles

    if args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    drawing: dict[str, int | None] = {}
    try:
        for text in args.regions:
            code, intensity = parse_region_argument(text)
            drawing[code] = intensity
    except (UnknownRegionError, ValueError, AtlasDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    matches = rank_muscles(drawing, args.condition, limit=args.limit)
    if args.json:
        _print_json(
            {
                "drawing": drawing,
                "condition": args.condition,
                "matches": [_match_json(m) for m in matches],
            }
        )
        return 0
    regions = body_map().regions
    shown = ", ".join(f"{regions[c].name}" + (f" {v}/10" if v is not None else "") for c, v in drawing.items())
    print(f"Drawing: {shown}" + (f"  (condition: {args.condition})" if args.condition else ""))
    if not matches:
        print("No muscle of the atlas refers pain to these regions.")
        return 0
    for rank, m in enumerate(matches, start=1):
        hazard = ", ".join(m.hazard_kinds)
        print(f"{rank:>2}. {m.muscle_name} ({m.side})  score {m.score:.3f}  hazard: {hazard}")
        print(f"    {m.reason}")
    return 0


def _match_json(m: Any) -> dict[str, Any]:
    return {
        "muscle_id": m.muscle_id,
        "muscle_name": m.muscle_name,
        "score": m.score,
        "side": m.side,
        "reason": m.reason,
        "trigger_point": m.trigger_point,
        "hazard_kinds": list(m.hazard_kinds),
        "hazard_note": m.hazard_note,
        "safe_depth_mm": m.safe_depth_mm,
        "safe_depth_is": DEPTH_FIGURE_LABEL if m.safe_depth_mm else None,
        "unverified": m.unverified,
    }


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
