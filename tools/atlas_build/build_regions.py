"""Build needlepoint/atlas/data/regions.json from the CHOIR body-map polygons.

Method: every CHOIR polygon is scaled into our 400 x 800 view box (factor 1.4, view centred on x = 200) and
rasterised at 4 px per unit. Each of our regions claims one or more CHOIR polygons and has seed points or
segments; every pixel of a CHOIR polygon goes to the nearest seed of the regions that claim that polygon
(distance minus the region's bias). Region masks are contoured and simplified into SVG paths, so regions
partition the CHOIR polygons exactly (up to the raster) and never overlap. Sided regions are authored on the
viewer's left half and mirrored.
"""

import json
import math
import sys
from pathlib import Path

import contourpy
import numpy as np
from matplotlib.path import Path as MplPath
from scipy import ndimage

# The shared data lies beside the checkout (shared/ next to the repository folder).
CHOIR = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bodymap-choir" / "choirbodymap_male_regions.json"
)
OUT = sys.argv[1] if len(sys.argv) > 1 else "regions.json"
S = 1.4
RES = 4  # pixels per unit

# (base code, base name, view, claimed CHOIR keys on the viewer's left half, seeds, bias, midline)
# seeds: (x, y) points or (x1, y1, x2, y2) segments, viewer's-left-half coordinates.
F, B = "front", "back"
SPECS = [
    # ---- front: head and face
    ("forehead", "Forehead", F, ["f01"], [(190, 24, 190, 46)], 0, False),
    ("temple", "Temple", F, ["f01", "f03"], [(168, 36, 167, 57)], 0, False),
    ("eyebrow", "Eyebrow", F, ["f01", "f03"], [(177, 53, 192, 53)], 0, False),
    ("behind-eye", "Behind the eye", F, ["f03"], [(183, 63)], 1, False),
    ("tmj-and-ear", "TMJ/ear", F, ["f03"], [(164, 62, 169, 78)], 0, False),
    ("cheek", "Cheek", F, ["f03"], [(177, 75, 191, 77)], 0, False),
    ("upper-molars", "Upper molars", F, ["f03"], [(182, 88)], 0, False),
    ("lower-molars", "Lower molars", F, ["f03"], [(182, 100)], 0, False),
    ("angle-of-jaw", "Angle of the jaw", F, ["f03"], [(168, 96)], 0, False),
    ("front-teeth", "Front teeth", F, ["f03"], [(200, 90, 200, 108)], -2, True),
    # ---- front: neck, shoulder, chest
    ("throat", "Throat", F, ["f05"], [(200, 116, 200, 140)], -3, True),
    ("anterior-neck", "Front of the neck", F, ["f05"], [(184, 116, 181, 133)], 0, False),
    ("supraclavicular", "Above the collarbone", F, ["f05", "f07", "f08"], [(175, 143, 152, 151)], 0, False),
    ("anterior-shoulder", "Front of the shoulder", F, ["f07"], [(142, 178, 132, 205)], 0, False),
    ("lateral-shoulder", "Side of the shoulder (mid-deltoid)", F, ["f07"], [(114, 162, 104, 205)], 0, False),
    ("sternum", "Sternum", F, ["f08"], [(200, 152, 200, 268)], -8, True),
    ("chest", "Chest (pectoral)", F, ["f08"], [(172, 172, 168, 262), (146, 186)], 0, False),
    ("side-of-chest", "Side of the chest", F, ["f08"], [(134, 232, 137, 292)], 0, False),
    # ---- front: arm and hand
    ("lateral-arm", "Outer upper arm", F, ["f11"], [(106, 225, 106, 280)], 0, False),
    ("anterior-arm", "Front of the upper arm", F, ["f11"], [(116, 225, 116, 280)], 0, False),
    ("medial-arm", "Inner upper arm", F, ["f11"], [(126, 225, 125, 280)], 0, False),
    ("front-of-elbow", "Front of the elbow", F, ["f13"], [(97, 296)], 0, False),
    ("medial-epicondyle", "Medial epicondyle (inner elbow)", F, ["f13"], [(113, 297)], 0, False),
    ("radial-forearm", "Thumb side of the forearm", F, ["f15"], [(92, 312, 63, 368)], 0, False),
    ("volar-forearm", "Front of the forearm", F, ["f15"], [(113, 318, 83, 374)], 0, False),
    ("volar-wrist", "Front of the wrist", F, ["f19"], [(78, 390)], 0, False),
    ("thumb", "Thumb", F, ["f25"], [(26, 416, 44, 403)], 0, False),
    ("palm", "Palm", F, ["f25"], [(60, 414, 68, 430)], 0, False),
    ("index-middle-fingers", "Index/middle fingers", F, ["f25"], [(42, 445, 47, 466)], 0, False),
    ("ring-little-fingers", "Ring/little fingers", F, ["f25"], [(59, 445, 63, 466)], 0, False),
    # ---- front: abdomen, hip, leg
    ("upper-abdomen", "Upper abdomen", F, ["f16"], [(150, 305, 186, 305)], 0, False),
    ("lower-abdomen", "Lower abdomen", F, ["f16"], [(150, 378, 186, 382)], 0, False),
    ("front-of-hip", "Front of the hip", F, ["f20"], [(140, 392)], 0, False),
    ("groin", "Groin", F, ["f21"], [(178, 410)], 0, False),
    ("lateral-thigh", "Outer thigh", F, ["f26"], [(130, 450, 151, 548)], 0, False),
    ("anterior-thigh", "Front of the thigh", F, ["f26"], [(160, 450, 170, 548)], 0, False),
    ("medial-thigh", "Inner thigh", F, ["f26"], [(189, 450, 190, 548)], 0, False),
    ("front-of-knee", "Front of the knee", F, ["f29"], [(170, 580)], 0, False),
    ("lateral-leg", "Outer lower leg (peroneal)", F, ["f31"], [(142, 615, 160, 692)], 0, False),
    ("shin", "Shin", F, ["f31"], [(169, 615, 177, 692)], 0, False),
    ("front-of-ankle", "Front of the ankle", F, ["f33"], [(172, 718)], 0, False),
    ("top-of-foot", "Top of the foot (with toes)", F, ["f35"], [(170, 750, 168, 778)], 0, False),
    # ---- back: head and neck
    ("vertex", "Top of the head (vertex)", B, ["b01"], [(186, 17, 200, 17)], 0, True),
    ("side-of-head", "Side of the head above the ear", B, ["b01", "b03"], [(166, 36, 165, 53)], 0, False),
    ("occiput", "Back of the head (occiput)", B, ["b01", "b03"], [(188, 38, 188, 76)], 0, False),
    ("mastoid", "Mastoid (behind the ear)", B, ["b03"], [(162, 64, 172, 87)], 0, False),
    ("suboccipital", "Base of the skull (suboccipital)", B, ["b03"], [(188, 90, 193, 102)], 0, False),
    ("posterolateral-neck", "Posterolateral neck", B, ["b03", "b05"], [(177, 102, 180, 128)], 0, False),
    ("posterior-neck", "Back of the neck", B, ["b05"], [(192, 112, 193, 131)], 0, False),
    ("angle-of-neck", "Angle of the neck", B, ["b05", "b07", "b08"], [(174, 139)], 0, False),
    ("base-of-neck", "Base of the neck (C7)", B, ["b05", "b08"], [(200, 142)], 0, True),
    # ---- back: shoulder and upper back
    ("top-of-shoulder", "Top of the shoulder", B, ["b07"], [(158, 147, 128, 153)], 0, False),
    ("acromion", "Point of the shoulder (acromion)", B, ["b07"], [(106, 160)], 0, False),
    ("suprascapular", "Above the shoulder blade spine", B, ["b07"], [(150, 168, 124, 174)], 0, False),
    ("over-scapula", "Over the shoulder blade", B, ["b07", "b08", "b12"], [(143, 198, 148, 236)], 0, False),
    ("posterior-shoulder", "Back of the shoulder", B, ["b07"], [(100, 186, 110, 215)], 0, False),
    (
        "medial-scapular-border",
        "Medial border of the shoulder blade",
        B,
        ["b08", "b12"],
        [(174, 166, 172, 246)],
        0,
        False,
    ),
    ("between-shoulder-blades", "Between the shoulder blades", B, ["b08", "b12"], [(200, 160, 200, 252)], 0, True),
    ("inferior-angle-of-scapula", "Lower tip of the shoulder blade", B, ["b12"], [(160, 264)], 0, False),
    ("mid-back", "Mid back", B, ["b12"], [(148, 302, 194, 302)], 0, False),
    # ---- back: arm and hand
    ("posterior-arm", "Back of the upper arm", B, ["b11"], [(116, 228, 116, 275)], 0, False),
    ("lateral-epicondyle", "Lateral epicondyle (outer elbow)", B, ["b15"], [(89, 297)], 0, False),
    ("posterior-elbow", "Back of the elbow", B, ["b15"], [(108, 292)], 0, False),
    ("dorsal-forearm", "Back of the forearm", B, ["b17"], [(100, 316, 75, 366)], 0, False),
    ("dorsal-wrist", "Back of the wrist", B, ["b21"], [(77, 385)], 0, False),
    ("dorsal-web-of-thumb", "Dorsal web of the thumb", B, ["b27"], [(25, 417, 47, 406)], 0, False),
    ("dorsum-of-hand", "Back of the hand", B, ["b27"], [(62, 410, 68, 430)], 0, False),
    ("back-of-fingers", "Back of the fingers", B, ["b27"], [(42, 455, 60, 455)], 0, False),
    # ---- back: low back, pelvis, leg
    ("low-back", "Low back", B, ["b18"], [(160, 330, 178, 338)], 0, False),
    ("lumbar-spine", "Lumbar spine", B, ["b18"], [(200, 318, 200, 352)], 0, True),
    ("iliac-crest", "Iliac crest (belt line)", B, ["b18", "b22", "b23"], [(140, 362, 176, 366)], 0, False),
    ("greater-trochanter", "Greater trochanter (side of the hip)", B, ["b22"], [(133, 398, 135, 432)], 0, False),
    ("sacroiliac", "Sacroiliac region", B, ["b23"], [(184, 386)], 0, False),
    ("sacrum", "Sacrum", B, ["b23"], [(200, 366, 200, 388)], 0, True),
    ("coccyx", "Coccyx (tailbone)", B, ["b23"], [(200, 407)], 0, True),
    ("upper-buttock", "Upper buttock", B, ["b22", "b23"], [(156, 386, 168, 398)], 0, False),
    ("lower-medial-buttock", "Lower inner buttock", B, ["b23"], [(187, 424, 186, 446)], 0, False),
    ("lower-lateral-buttock", "Lower outer buttock", B, ["b22", "b23"], [(162, 426, 155, 442)], 0, False),
    ("upper-posterior-thigh", "Back of the upper thigh", B, ["b28"], [(135, 475, 190, 475)], 0, False),
    ("lower-posterior-thigh", "Back of the lower thigh", B, ["b28"], [(150, 528, 186, 528)], 0, False),
    ("back-of-knee", "Back of the knee", B, ["b31"], [(170, 580)], 0, False),
    ("calf", "Calf", B, ["b33"], [(160, 628, 171, 688)], 0, False),
    ("heel", "Heel (Achilles)", B, ["b35"], [(172, 715)], 0, False),
    ("sole", "Sole of the foot", B, ["b37"], [(170, 765)], 0, False),
]

ATTRIBUTION = (
    "Body-map shapes are derived from the CHOIR Body Map (Collaborative Health Outcomes Information Registry), "
    "devised by Dr. Ming-Chih J Kao and Professor Sean Mackey at Stanford University (choir.stanford.edu), "
    "as distributed in the ctsit/imagemap REDCap module under the Apache License 2.0. Cite: Scherrer KH, "
    "Ziadni MS, Kong JT, Sturgeon JA, Salmasi V, Hong J, Cramer E, Chen AL, Pacht T, Olson G, Darnall BD, "
    "Kao MC, Mackey S. Development and validation of the Collaborative Health Outcomes Information Registry "
    "body map. PAIN Reports 2021;6(1):e880. doi:10.1097/PR9.0000000000000880. "
    "Modified: scaled and subdivided into finer referral regions by Needlepoint."
)


def load_choir():
    data = json.load(open(CHOIR))
    polys, titles = {}, {}
    for r in data["regions"]:
        key = r["key"]
        cx = 140.5 if key[0] == "f" else 407.5
        c = r["coords"]
        polys[key] = np.array([((x - cx) * S + 200, (y - 13) * S + 14) for x, y in zip(c[::2], c[1::2])])
        titles[key] = r["title"]
    return polys, titles


def mirror_key_map(titles):
    flip = {"right": "left", "left": "right"}
    by_title = {t: k for k, t in titles.items()}
    out = {}
    for k, t in titles.items():
        head, _, tail = t.rpartition("-")
        side = tail.rstrip(")")
        if side in flip:
            out[k] = by_title[f"{head}-{flip[side]})"]
        else:  # "Hand (palm-right)" style
            raise ValueError(t)
    return out


def expand_specs(mirror):
    """Return region dicts for both sides, with seeds and claimed keys in absolute coordinates."""
    regions = []
    for code, name, view, claims, seeds, bias, midline in SPECS:
        left_half_side = "right" if view == F else "left"
        other_side = "left" if left_half_side == "right" else "right"
        mseeds = [mirror_seed(s) for s in seeds]
        if midline:
            regions.append(
                dict(code=code, name=name, view=view, side="midline",
                     claims=claims + [mirror[k] for k in claims], seeds=seeds + mseeds, bias=bias)
            )
            continue
        for side, sd, cl in ((left_half_side, seeds, claims), (other_side, mseeds, [mirror[k] for k in claims])):
            regions.append(
                dict(code=f"{code}-{side[0]}", name=f"{name} ({side})", view=view, side=side,
                     claims=cl, seeds=sd, bias=bias)
            )
    return regions


def mirror_seed(s):
    if len(s) == 2:
        return (400 - s[0], s[1])
    return (400 - s[0], s[1], 400 - s[2], s[3])


def seg_dist(px, py, s):
    if len(s) == 2:
        return np.hypot(px - s[0], py - s[1])
    x1, y1, x2, y2 = s
    dx, dy = x2 - x1, y2 - y1
    t = np.clip(((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy), 0, 1)
    return np.hypot(px - (x1 + t * dx), py - (y1 + t * dy))


def label_view(view, polys, regions):
    h, w = 800 * RES, 400 * RES
    label = np.full((h, w), -1, dtype=np.int32)
    choir_of = np.full((h, w), -1, dtype=np.int32)
    keys = sorted(k for k in polys if k[0] == view[0])
    for ki, key in enumerate(keys):
        poly = polys[key]
        x0, y0 = np.floor(poly.min(0) * RES).astype(int)
        x1, y1 = np.ceil(poly.max(0) * RES).astype(int)
        xs, ys = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1))
        cx, cy = (xs + 0.5) / RES, (ys + 0.5) / RES
        inside = MplPath(poly).contains_points(np.c_[cx.ravel(), cy.ravel()]).reshape(cx.shape)
        inside &= label[ys.clip(0, h - 1), xs.clip(0, w - 1)] == -1
        competitors = [i for i, r in enumerate(regions) if r["view"] == view and key in r["claims"]]
        if not competitors:
            raise SystemExit(f"CHOIR polygon {key} is claimed by no region")
        best = np.full(cx.shape, np.inf)
        arg = np.full(cx.shape, -1)
        for i in competitors:
            d = np.min([seg_dist(cx, cy, s) for s in regions[i]["seeds"]], axis=0) - regions[i]["bias"]
            better = d < best
            best[better] = d[better]
            arg[better] = i
        label[ys[inside], xs[inside]] = arg[inside]
        choir_of[ys[inside], xs[inside]] = ki
    return label, choir_of, keys


def simplify(points, tol):
    """Douglas-Peucker on a closed ring."""
    pts = np.asarray(points)
    if len(pts) < 4:
        return pts

    def dp(a, b):
        seg = pts[a : b + 1]
        if b - a < 2:
            return [a, b]
        p, q = pts[a], pts[b]
        d = q - p
        n = math.hypot(*d)
        if n == 0:
            dist = np.hypot(*(seg - p).T)
        else:
            dist = np.abs(d[0] * (seg[:, 1] - p[1]) - d[1] * (seg[:, 0] - p[0])) / n
        i = int(np.argmax(dist))
        if dist[i] > tol:
            left = dp(a, a + i)
            return left[:-1] + dp(a + i, b)
        return [a, b]

    far = int(np.argmax(np.hypot(*(pts - pts[0]).T)))
    idx = dp(0, far)[:-1] + dp(far, len(pts) - 1)
    return pts[idx]


def mask_to_path(mask, tol=0.3, min_area=2.0):
    gen = contourpy.contour_generator(z=np.pad(mask.astype(float), 1), name="serial")
    rings = []
    for line in gen.lines(0.5):
        pts = (line - 1 + 0.5) / RES
        if len(pts) < 4:
            continue
        x, y = pts[:, 0], pts[:, 1]
        area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
        if area < min_area:
            continue
        ring = simplify(pts[:-1] if np.allclose(pts[0], pts[-1]) else pts, tol)
        rings.append(ring)
    parts = []
    for ring in rings:
        coords = " ".join(f"{fmt(x)},{fmt(y)}" for x, y in ring)
        parts.append(f"M{coords}Z")
    return " ".join(parts), len(rings)


def fmt(v):
    s = f"{v:.1f}"
    return s[:-2] if s.endswith(".0") else s


def build():
    polys, titles = load_choir()
    mirror = mirror_key_map(titles)
    regions = expand_specs(mirror)
    out_regions = []
    views = {}
    for view in (F, B):
        label, choir_of, keys = label_view(view, polys, regions)
        body = ndimage.binary_closing(label >= 0, structure=np.ones((7, 7)))
        body = ndimage.binary_fill_holes(body)
        # Close the hairline gaps between neighbouring CHOIR polygons: each gap pixel inside the body
        # takes the label (and CHOIR key) of its nearest labelled pixel, so regions share their borders.
        _, (iy, ix) = ndimage.distance_transform_edt(label < 0, return_indices=True)
        gap = body & (label < 0)
        label[gap] = label[iy[gap], ix[gap]]
        choir_of[gap] = choir_of[iy[gap], ix[gap]]
        outline, n = mask_to_path(body, tol=0.4, min_area=50)
        assert n == 1, (view, n)
        views[view] = {"outline": outline}
        for i, r in enumerate(regions):
            if r["view"] != view:
                continue
            m = label == i
            if not m.any():
                raise SystemExit(f"region {r['code']} got no pixels")
            path, n = mask_to_path(m)
            counts = np.bincount(choir_of[label == i], minlength=len(keys))
            share = counts / counts.sum()
            choir = [keys[k] for k in np.argsort(-share) if share[k] >= 0.12]
            out_regions.append(
                dict(code=r["code"], name=r["name"], view=view, side=r["side"], svg=path, choir=sorted(choir),
                     _pieces=n, _area=int(counts.sum()) / RES**2)
            )
    for r in out_regions:
        if r["_pieces"] != 1:
            print("pieces", r["code"], r["_pieces"])
    print(len(out_regions), "regions")
    small = sorted(out_regions, key=lambda r: r["_area"])[:8]
    print("smallest", [(r["code"], round(r["_area"])) for r in small])
    for r in out_regions:
        del r["_pieces"], r["_area"]
    doc = {
        "about": (
            "Body regions for pain drawings and trigger-point referral zones. Coordinates: one view box "
            "0 0 400 800 per view; the figure faces the viewer on the front view, so the patient's left is on "
            "the viewer's right on the front view and on the viewer's left on the back view. Each region maps "
            "onto the CHOIR body-map regions it lies in (choir keys)."
        ),
        "coordinate_system": {"viewBox": "0 0 400 800", "views": ["front", "back"]},
        "views": {v: {"label": v.capitalize(), **views[v]} for v in (F, B)},
        "choir": {
            "attribution": ATTRIBUTION,
            "licence": "Apache-2.0",
            "notice_file": "CHOIR-NOTICE.txt",
            "regions": {k: titles[k] for k in sorted(titles)},
        },
        "regions": out_regions,
    }
    with open(OUT, "w") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


if __name__ == "__main__":
    build()
