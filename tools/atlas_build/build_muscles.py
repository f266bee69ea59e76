"""One-off generator for needlepoint/atlas/data/muscles.json (the JSON file is the source of truth afterwards)."""

import json
import re
import sys
from pathlib import Path

# The shared reference lies beside the checkout (shared/ next to the repository folder).
CLINICAL = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "clinical.md"
OUT = sys.argv[1] if len(sys.argv) > 1 else "muscles.json"

GROUP_BASES = {
    "T2": "http://check.myofascialtherapy.org/symptomcheck/",
    "T6": "https://aberdeenchiropracticblog.com/",
    "T12": "https://massagelibrary.com/Dr+James+Mally/Sports+Massage+DVD/Trigger+Point+and+Counterstrain/",
}


def parse_sources():
    text = open(CLINICAL, encoding="utf-8").read().split("## G. Sources", 1)[1]
    out, group, group_title = {}, None, ""
    for line in text.splitlines():
        m = re.match(r"^- (T\d+|S\d+b?) (.*)$", line)
        if m:
            group, rest = m.group(1), m.group(2)
            group_title = re.sub(r" \(https?://[^)]*\)", "", rest.rstrip(":"))
            if not rest.endswith(":"):
                out[group] = rest
            continue
        m = re.match(r"^  - (T\d+[a-z]) (.*)$", line)
        if m and group:
            key, rest = m.groups()
            base = GROUP_BASES.get(group)
            if base:
                rest = rest.replace("…/", base)
                parts = rest.split(" — ", 1)
                if len(parts) == 2 and not parts[1].startswith("http"):
                    rest = f"{parts[0]} — {base}{parts[1]}"
                elif len(parts) == 1 and not rest.startswith("http"):
                    rest = base + rest
            foreign = bool(base) and " — http" in rest and base not in rest
            title = "Trigger-point article" if foreign else group_title
            out[key] = f"{title}: {rest}"
    return out


CONDITIONS = {
    "neck_pain": "Neck pain",
    "low_back_pain": "Low back pain",
    "migraine": "Migraine",
    "tension_type_headache": "Tension-type headache",
    "lateral_epicondylalgia": "Lateral epicondylalgia (tennis elbow)",
    "tendinopathy": "Tendinopathy",
    "sciatica": "Sciatica",
    "joint_spine_dysfunction": "Joint and spine dysfunction",
    "other": "Other",
}

TAGS = {
    "NECK": ("neck pain", ["neck_pain"]),
    "TTH": ("tension-type headache", ["tension_type_headache"]),
    "MIG": ("migraine-like or retro-orbital headache", ["migraine"]),
    "CGH": ("cervicogenic headache", ["neck_pain"]),
    "TMD": ("jaw / temporomandibular pain", ["other"]),
    "SHO": ("shoulder pain or dysfunction", ["tendinopathy", "other"]),
    "LE": ("lateral epicondylalgia / tennis elbow", ["lateral_epicondylalgia", "tendinopathy"]),
    "THOR": ("thoracic or chest-wall pain", ["joint_spine_dysfunction", "other"]),
    "LBP": ("low back pain", ["low_back_pain"]),
    "SCI": ("sciatica-like buttock or leg pain", ["sciatica"]),
    "HIP": ("hip or lateral thigh pain", ["tendinopathy", "other"]),
}

HAZARD_KINDS = {
    "pneumothorax": "PTX: the needle can reach pleura or lung",
    "nerve_vessel": "NV: a named nerve or vessel lies nearby",
    "organ": "ORG: abdominal or retroperitoneal organ, or peritoneum",
    "low": "LOW: no specific hazard identified in the retrieved sources",
}


def tp(code, location, source, unverified=False, referral=None):
    d = {"code": code, "location": location, "source": source, "unverified": unverified}
    if referral:
        d["referral"] = referral
    return d


def zones(primary, spillover=None, unverified=None, note=None):
    d = {"primary": primary, "spillover": spillover or {}}
    if unverified:
        d["unverified"] = unverified
    if note:
        d["note"] = note
    return d


def hazard(kinds, note, sources, structures=(), over_thorax=False, safe_depth_mm=None, safe_depth_source=None,
           unverified=False):
    return {
        "kinds": kinds,
        "note": note,
        "structures": list(structures),
        "over_thorax": over_thorax,
        "safe_depth_mm": safe_depth_mm,
        "safe_depth_source": safe_depth_source,
        "unverified": unverified,
        "sources": sources,
    }


def conds(tags, extra=()):
    out = []
    for t in tags:
        for c in TAGS[t][1]:
            if c not in out:
                out.append(c)
    for c in extra:
        if c not in out:
            out.append(c)
    return out


def muscle(row, mid, name, area, tps, referral, tags, hz, sources, presentations=(), extra_conditions=(),
           unverified=False):
    return {
        "id": mid,
        "name": name,
        "clinical_md_row": row,
        "unverified": unverified,
        "body_area": area,
        "trigger_points": tps,
        "referral": referral,
        "conditions": conds(tags, extra_conditions),
        "tags": tags,
        "presentations": list(presentations),
        "hazard": hz,
        "sources": sources,
    }


U = True  # unverified
LOW_NOTE = "No specific hazard identified in the retrieved sources."
THORAX_NOTE = "Overlies the thoracic wall; needle over a rib with a pincer grasp or tangential technique."

MUSCLES = [
    muscle(
        1, "upper-trapezius", "Upper trapezius", "neck and shoulder",
        [tp("TP1", "Free upper border, about midway between the neck and the acromion, above the superior border "
            "of the scapula.", "T1a")],
        zones({"back": ["posterolateral-neck", "mastoid"], "front": ["temple"]},
              {"front": ["behind-eye", "angle-of-jaw"]},
              note="Pattern runs posterolateral neck -> mastoid -> temple -> behind the eye, sometimes the angle of "
                   "the jaw; the last two are taken as spill-over."),
        ["NECK", "TTH", "CGH"],
        hazard(["pneumothorax"],
               "The lung apex lies under the top of the shoulder. Shortest skin-to-apex distance about 3.3 cm "
               "(MRI, 30° medial direction); cadaver mean 3.3 cm at the angle of the neck. Use a pincer grasp.",
               ["S14", "S20"], ["lung apex (pleural dome)"], over_thorax=True, safe_depth_mm=25,
               safe_depth_source="Derived, not a published safe depth: the shortest skin-to-lung-apex distances "
               "reported are a cadaver mean of 3.3 cm at the angle of the neck [S14] and a shortest individual "
               "MRI distance of 3.34 cm when angled 30° medially [S20]. No margin is applied, so treat 33 mm as a "
               "ceiling never to reach; [S14] also records a 3.1 cm needle reaching lung."),
        ["T1a", "T2a", "T7", "T21", "S14", "S20"], ["whiplash"],
    ),
    muscle(
        2, "middle-trapezius", "Middle trapezius", "interscapular",
        [tp("TP", "Between the medial scapular border and the spine.", "T2a", U)],
        zones({"back": ["between-shoulder-blades", "base-of-neck"]}, {"back": ["acromion"]},
              note="Superficial burning pain toward the C7-T3 spinous processes; acromion."),
        ["THOR", "NECK", "SHO"],
        hazard(["pneumothorax"], "Overlies the thoracic wall.", ["S23"], ["pleura and lung"], over_thorax=True),
        ["T2a", "S23"], ["burning interscapular pain"],
    ),
    muscle(
        3, "lower-trapezius", "Lower trapezius", "lower scapular and thoracic",
        [tp("TP3", "Lower fibres near the medial and inferior scapula (T&S 'TP3').", "T1b", U)],
        zones({"back": ["posterior-neck", "mastoid", "suprascapular"]},
              {"back": ["acromion", "medial-scapular-border"]},
              note="Cervical paraspinals, mastoid area, acromion, suprascapular ache; burning pain along the "
                   "medial scapular border."),
        ["NECK", "TTH", "SHO"],
        hazard(["pneumothorax"], "Overlies the thoracic wall.", ["S23"], ["pleura and lung"], over_thorax=True),
        ["T1b", "S23"],
    ),
    muscle(
        4, "levator-scapulae", "Levator scapulae", "posterolateral neck",
        [tp("TP1", "At the angle of the neck.", "T1c"),
         tp("TP2", "Just above the superior angle of the scapula.", "T1c")],
        zones({"back": ["angle-of-neck"]},
              {"back": ["medial-scapular-border", "inferior-angle-of-scapula", "posterior-shoulder"]},
              note="Angle of the neck is the main zone; vertebral border and inferior angle of the scapula and "
                   "the posterior shoulder are spill-over."),
        ["NECK"],
        hazard(["pneumothorax"], "The lower trigger point lies over the upper ribs near the lung apex.", ["T1c"],
               ["lung apex"], over_thorax=True, unverified=True),
        ["T1c", "T7"], ["stiff neck", "limited rotation"],
    ),
    muscle(
        5, "sternocleidomastoid-sternal", "Sternocleidomastoid, sternal division", "anterior neck",
        [tp("TP", "Along the sternal head.", "T1d", U)],
        zones({"back": ["vertex", "occiput"], "front": ["cheek", "eyebrow"]},
              {"front": ["throat", "sternum"]},
              note="Vertex, occiput, cheek, over the eye, throat, sternum; throat and sternum taken as "
                   "spill-over. Autonomic eye signs (tearing, redness, ptosis, blurring)."),
        ["TTH", "MIG"],
        hazard(["nerve_vessel"],
               "The carotid sheath and major vessels lie deep and medial (general anatomy). Lateral neck sites over "
               "major vessels are flagged as dangerous.",
               ["S12"], ["carotid artery", "internal jugular vein"], unverified=True),
        ["T1d", "S12"], ["atypical facial pain", "autonomic eye signs"],
    ),
    muscle(
        6, "sternocleidomastoid-clavicular", "Sternocleidomastoid, clavicular division", "anterior neck",
        [tp("TP", "Along the clavicular head.", "T1d", U)],
        zones({"front": ["forehead", "tmj-and-ear"], "back": ["mastoid"]},
              {"front": ["contra:forehead", "cheek", "upper-molars"]},
              note="Frontal forehead (both sides when severe), deep in the ear, behind the ear; less often "
                   "maxilla and molars."),
        ["TTH"],
        hazard(["nerve_vessel"],
               "As the sternal division: carotid sheath and major vessels deep and medial; lateral neck sites over "
               "major vessels are flagged as dangerous.",
               ["S12"], ["carotid artery", "internal jugular vein"], unverified=True),
        ["T1d", "T3d"], ["postural dizziness"],
    ),
    muscle(
        7, "splenius-capitis", "Splenius capitis", "upper posterior neck",
        [tp("TP", "In the occipital triangle region.", "T3b")],
        zones({"back": ["vertex"]}),
        ["TTH", "CGH"],
        hazard(["low"], "Deep suboccipital structures lie nearby.", ["T3b"], unverified=True),
        ["T3b", "T3d", "T3e"],
    ),
    muscle(
        8, "splenius-cervicis", "Splenius cervicis", "posterior neck",
        [tp("TP1", "Upper trigger point near the angle of the neck, close to trapezius TP1.", "T3a"),
         tp("TP2", "A second trigger point slightly lower.", "T3a")],
        zones({"front": ["behind-eye"], "back": ["angle-of-neck"]},
              note="Through the head to behind the eye (retro-orbital); angle of the neck."),
        ["MIG", "NECK"],
        hazard(["low"], LOW_NOTE, ["T3a"], unverified=True),
        ["T3a", "T3e"], ["occasional blurred vision"],
    ),
    muscle(
        9, "suboccipitals", "Suboccipitals", "below the occiput",
        [tp("TP", "Beneath the occiput.", "T3b")],
        zones({"back": ["occiput", "side-of-head"], "front": ["behind-eye"]},
              {"front": ["temple", "forehead"]},
              note="Deep, band-like pain from the occiput over the side of the head to the eye and forehead."),
        ["TTH", "CGH", "MIG"],
        hazard(["nerve_vessel"],
               "Spinal cord, brainstem and vertebral artery region. Midline upper-neck points (GV15/GV16 area) "
               "are flagged as dangerous.",
               ["S12"], ["vertebral artery", "spinal cord and brainstem"]),
        ["T3b", "T3c", "S12"],
    ),
    muscle(
        10, "semispinalis-capitis", "Semispinalis capitis", "posterior neck",
        [tp("TP", "Upper part of the muscle.", "T3c")],
        zones({"back": ["side-of-head"]}, {"back": ["occiput"], "front": ["temple"]},
              note="Band of pain around the head above the ear."),
        ["TTH"],
        hazard(["nerve_vessel"], "Needle direction toward the spinal canal.", ["T3c"], ["spinal canal"],
               unverified=True),
        ["T3c"],
    ),
    muscle(
        11, "cervical-multifidi", "Cervical multifidi (posterior cervical group)", "posterior neck",
        [tp("TP", "Lamina groove.", "T3b", U)],
        zones({"back": ["suboccipital", "posterior-neck", "base-of-neck"]},
              {"back": ["between-shoulder-blades", "medial-scapular-border", "occiput", "side-of-head"],
               "front": ["temple"]},
              note="Suboccipital region and down the posterior neck to about T3, toward the rhomboids; occiput, "
                   "'headband', lateral orbit (drawn as temple)."),
        ["NECK", "CGH"],
        hazard(["nerve_vessel"], "Spinal canal and vertebral artery.", ["T3b"],
               ["spinal canal", "vertebral artery"], unverified=True),
        ["T3b", "T14d"],
    ),
    muscle(
        12, "scalenes", "Scalenes (anterior, middle, posterior)", "lateral neck",
        [tp("TP", "Muscle bellies above the clavicle.", "T1e", U)],
        zones({"front": ["chest", "lateral-arm"], "back": ["medial-scapular-border"]},
              {"front": ["radial-forearm", "thumb", "index-middle-fingers"], "back": ["between-shoulder-blades"]},
              note="Pectoral/chest, medial scapular border and interscapular area, lateral arm, radial forearm to "
                   "thumb and index."),
        ["NECK", "SHO"],
        hazard(["nerve_vessel", "pneumothorax"],
               "Brachial plexus trunks and subclavian vein and artery (entrapment described); the pleural dome is "
               "nearby.",
               ["T1e", "S14"], ["brachial plexus", "subclavian artery", "subclavian vein", "pleural dome"],
               over_thorax=True),
        ["T1e", "T2b", "S14"],
        ["thoracic outlet syndrome-like", "mimics C5-C6 radiculopathy", "mimics carpal tunnel syndrome"],
    ),
    muscle(
        13, "temporalis", "Temporalis", "temple",
        [tp("anterior", "Anterior fibres.", "T4a",
            referral=zones({"front": ["temple", "eyebrow"]}, {"front": ["front-teeth"]})),
         tp("middle", "Middle fibres.", "T4c"),
         tp("posterior", "Posterior fibres.", "T4c",
            referral=zones({"front": ["temple"]}, {"front": ["upper-molars"]}))],
        zones({"front": ["temple", "eyebrow"]}, {"front": ["front-teeth", "upper-molars"]},
              note="Temple, eyebrow, upper teeth (anterior fibres to the front teeth, posterior to the back "
                   "teeth); three to four patterns."),
        ["TTH", "TMD"],
        hazard(["low"], "Superficial temporal artery.", ["T4a"], ["superficial temporal artery"], unverified=True),
        ["T4a", "T4b", "T4c"],
    ),
    muscle(
        14, "masseter", "Masseter", "cheek and jaw",
        [tp("superficial", "Several trigger points in the superficial layer.", "T4d"),
         tp("deep", "Deep layer.", "T4d",
            referral=zones({"front": ["tmj-and-ear"]}))],
        zones({"front": ["cheek", "upper-molars", "lower-molars", "tmj-and-ear"]},
              {"front": ["eyebrow", "angle-of-jaw"]},
              note="Cheek and upper molars ('sinusitis'), mandible and lower molars, over the eyebrow, TMJ and "
                   "deep ear (tinnitus). The deep layer is the TMJ/ear pattern (T&S, via [T4d])."),
        ["TMD", "TTH"],
        hazard(["low"], "Parotid gland and facial-nerve branches.", ["T4d"],
               ["parotid gland", "facial nerve branches"], unverified=True),
        ["T4d"], ["tooth pain", "tinnitus"],
    ),
    muscle(
        15, "supraspinatus", "Supraspinatus", "supraspinous fossa",
        [tp("belly", "Muscle belly in the supraspinous fossa.", "T2c"),
         tp("lateral", "Near the humeral attachment.", "T2c")],
        zones({"front": ["lateral-shoulder"]},
              {"front": ["lateral-arm", "radial-forearm"], "back": ["lateral-epicondyle"]},
              note="Deep ache in the mid-deltoid ('regimental badge') area, down the arm and forearm, sometimes "
                   "the lateral epicondyle; the wrist rarely (not drawn)."),
        ["SHO", "LE"],
        hazard(["pneumothorax"],
               "Low risk when the needle is directed into the fossa (the bony floor protects); the area above and "
               "medial to the scapula approaches the lung apex.",
               ["T2c"], ["lung apex"], over_thorax=True, unverified=True),
        ["T2c", "T12a", "T14a"], ["mimics lateral epicondylalgia"],
    ),
    muscle(
        16, "infraspinatus", "Infraspinatus", "infraspinous fossa",
        [tp("TP1", "Below the scapular spine near the medial border.", "T1f"),
         tp("TP2", "More lateral; frequently mid-muscle.", "T1f"),
         tp("medial-border", "Infrequent trigger point that refers to the medial scapular border.", "T1f",
            referral=zones({"back": ["medial-scapular-border"]}))],
        zones({"front": ["anterior-shoulder"]},
              {"front": ["lateral-arm", "radial-forearm", "thumb"], "back": ["medial-scapular-border"]},
              note="Deep anterior shoulder, anterolateral arm and forearm, radial hand; an infrequent trigger "
                   "point refers to the medial scapular border. T&S name it the likeliest muscular source of "
                   "pain referred to the shoulder joint [T15]."),
        ["SHO"],
        hazard(["low"],
               "Lies over bone, but congenital scapular foramina exist, so needle superficially or obliquely.",
               ["S12"], ["scapular foramina"]),
        ["T1f", "T5a", "T15", "T16", "S12"],
    ),
    muscle(
        17, "teres-minor", "Teres minor", "lateral scapular border",
        [tp("TP", "Lateral scapular border between infraspinatus and teres major.", "T5a")],
        zones({"back": ["posterior-shoulder"]}, {"back": ["posterior-arm"]},
              note="Posterior deltoid area above the insertion; posterior upper arm."),
        ["SHO"],
        hazard(["low"], "Quadrilateral space and axillary nerve nearby.", ["T6a"], ["axillary nerve"],
               unverified=True),
        ["T5a", "T6a"], ["mimics subdeltoid bursitis"],
    ),
    muscle(
        18, "subscapularis", "Subscapularis", "anterior scapula and axilla",
        [tp("TP", "Lateral border, reached through the axilla.", "T2d", U)],
        zones({"back": ["posterior-shoulder", "dorsal-wrist"]},
              {"back": ["over-scapula", "posterior-arm", "posterior-elbow"], "front": ["volar-wrist"]},
              note="Posterior shoulder, over the scapula, posterior arm to the elbow; band of pain and tenderness "
                   "around the wrist (dorsal more than volar)."),
        ["SHO"],
        hazard(["nerve_vessel", "pneumothorax"], "Axillary neurovascular bundle and the chest wall.", ["T2d"],
               ["axillary artery", "axillary vein", "brachial plexus"], over_thorax=True, unverified=True),
        ["T2d", "S120"], ["frozen shoulder"],
    ),
    muscle(
        19, "teres-major", "Teres major", "posterior axillary fold",
        [tp("TP1", "Near the inferior angle of the scapula.", "T5a"),
         tp("TP2", "In the posterior axillary fold.", "T5a")],
        zones({"back": ["posterior-shoulder", "posterior-arm"]}, {"back": ["dorsal-forearm"]},
              note="Posterior deltoid, along the long head of triceps, dorsal forearm."),
        ["SHO"],
        hazard(["pneumothorax"], "The chest wall lies under the axillary fold if the needle is directed medially.",
               ["T5a"], ["chest wall"], over_thorax=True, unverified=True),
        ["T5a"],
    ),
    muscle(
        20, "latissimus-dorsi", "Latissimus dorsi", "posterior axilla and back",
        [tp("TP", "Posterior axillary fold.", "T5b", U)],
        zones({"back": ["inferior-angle-of-scapula", "mid-back"]},
              {"back": ["posterior-shoulder"], "front": ["medial-arm", "volar-forearm", "ring-little-fingers"]},
              note="Inferior angle of the scapula and mid-thoracic back; posterior shoulder, down the medial arm "
                   "and forearm to the 4th-5th digits."),
        ["THOR", "SHO"],
        hazard(["pneumothorax"], "Lateral and posterior chest wall.", ["S23"], ["pleura and lung"],
               over_thorax=True),
        ["T5b", "S23"],
    ),
    muscle(
        21, "deltoid", "Deltoid", "shoulder cap",
        [tp("anterior", "Anterior part.", "T6b", U,
            referral=zones({"front": ["anterior-shoulder", "lateral-shoulder"]})),
         tp("middle", "Middle part.", "T6b", U, referral=zones({"front": ["lateral-shoulder"]})),
         tp("posterior", "Posterior part.", "T6b", U,
            referral=zones({"back": ["posterior-shoulder"]}, {"front": ["lateral-arm"]}))],
        zones({"front": ["anterior-shoulder", "lateral-shoulder"], "back": ["posterior-shoulder"]},
              {"front": ["lateral-arm"]},
              note="Local referral: anterior part to the anterior and lateral shoulder; posterior part to the "
                   "posterior shoulder, spilling down the lateral arm; pain on movement. The middle part is drawn "
                   "as local (lateral shoulder)."),
        ["SHO"],
        hazard(["low"], "Axillary nerve posteriorly.", ["T6b"], ["axillary nerve"], unverified=True),
        ["T6b", "T6c"],
    ),
    muscle(
        22, "pectoralis-major", "Pectoralis major", "anterior chest",
        [tp("clavicular", "Clavicular section.", "T6d", U),
         tp("sternal", "Sternal section.", "T6e", U),
         tp("costal", "Costal section.", "T6d", U)],
        zones({"front": ["anterior-shoulder", "chest"]}, {"front": ["medial-arm", "volar-forearm"]},
              note="Anterior shoulder, chest, medial arm; the sternal part also to the upper forearm. The left "
                   "side can mimic cardiac pain; nipple hypersensitivity."),
        ["SHO", "THOR"],
        hazard(["pneumothorax"], "Anterior chest wall (risk zone from rib 7 upward); use a pincer grasp.",
               ["S23"], ["pleura and lung"], over_thorax=True),
        ["T6d", "T6e", "S23"], ["can mimic cardiac pain (left side)", "nipple hypersensitivity"],
    ),
    muscle(
        23, "pectoralis-minor", "Pectoralis minor", "deep anterior chest",
        [tp("TP", "Deep to pectoralis major over ribs 3-5.", "T6f", U)],
        zones({"front": ["anterior-shoulder"]},
              {"front": ["chest", "medial-arm", "palm", "index-middle-fingers", "ring-little-fingers"]},
              note="Front of the shoulder (main zone), chest, down the inner arm, palm, 3rd-5th fingers."),
        ["SHO"],
        hazard(["pneumothorax", "nerve_vessel"],
               "The brachial plexus and axillary vessels pass deep to it (thoracic outlet link); chest wall below.",
               ["T6g"], ["brachial plexus", "axillary artery", "axillary vein"], over_thorax=True),
        ["T6f", "T6g"], ["thoracic outlet syndrome", "angina mimic"],
    ),
    muscle(
        24, "rhomboids", "Rhomboids", "interscapular",
        [tp("TP", "Between the spine and the medial scapular border.", "T14b")],
        zones({"back": ["medial-scapular-border", "between-shoulder-blades"]},
              note="Local pain between the scapula and the spine, along the medial border."),
        ["THOR", "SHO"],
        hazard(["pneumothorax"],
               "An ultrasound study suggests insertion of at most about 19 mm to reach the deep limit of rhomboid "
               "major; sex, BMI and chest circumference predict pleural depth.",
               ["S21"], ["pleura and lung"], over_thorax=True, safe_depth_mm=19,
               safe_depth_source="S21: ultrasound study of rhomboid major suggests a maximum insertion of about "
               "19 mm; sex, BMI and chest circumference explained 69.7% of the variance in pleural depth."),
        ["T14b", "T6h", "S21"],
    ),
    muscle(
        25, "serratus-anterior", "Serratus anterior", "lateral chest wall",
        [tp("TP", "Mid-axillary line over the ribs.", "T6i", U)],
        zones({"front": ["side-of-chest"], "back": ["inferior-angle-of-scapula"]}, {"front": ["medial-arm"]},
              note="Anterolateral mid-chest, medial to the inferior angle of the scapula, medial arm; 'stitch', "
                   "pain on deep breathing."),
        ["THOR"],
        hazard(["pneumothorax"], "Needle over a rib with a pincer or flat technique.", ["S23"],
               ["pleura and lung"], over_thorax=True),
        ["T2e", "T6i", "S23"], ["stitch in the side", "pain on deep breathing"],
    ),
    muscle(
        26, "triceps-brachii", "Triceps brachii (and anconeus)", "posterior arm",
        [tp("long-head", "Long head.", "T2f", U,
            referral=zones({"back": ["posterior-arm", "posterior-shoulder"]},
                           {"back": ["base-of-neck", "dorsal-forearm"]})),
         tp("medial-head", "Medial head.", "T2f", U,
            referral=zones({"back": ["lateral-epicondyle"]}, {"front": ["radial-forearm"]})),
         tp("deep", "Deep part of the medial head.", "T2f", U,
            referral=zones({"front": ["medial-epicondyle"]}, {"front": ["ring-little-fingers"]})),
         tp("lateral-head", "Lateral head.", "T2f", U,
            referral=zones({"back": ["posterior-arm"]}, {"back": ["dorsal-forearm"]}))],
        zones({"back": ["posterior-arm", "posterior-shoulder", "lateral-epicondyle"],
               "front": ["medial-epicondyle"]},
              {"back": ["base-of-neck", "dorsal-forearm"], "front": ["radial-forearm", "ring-little-fingers"]},
              note="Long head: posterior arm to the back of the shoulder and base of the neck, dorsal forearm. "
                   "Medial head: lateral epicondyle and radial forearm. Deep part: medial epicondyle, 4th-5th "
                   "fingers. Lateral head: posterior arm and dorsal forearm."),
        ["LE", "SHO"],
        hazard(["nerve_vessel"], "Radial nerve in the spiral groove.", ["T6j"], ["radial nerve"], unverified=True),
        ["T2f", "T6j"],
    ),
    muscle(
        27, "supinator", "Supinator", "proximal lateral forearm",
        [tp("TP", "Ventral forearm, lateral to the biceps tendon.", "T1g", U)],
        zones({"back": ["lateral-epicondyle", "dorsal-web-of-thumb"]}, {"back": ["dorsal-forearm"]},
              note="Lateral epicondyle (3-5 cm zone), dorsal web and base of the thumb, sometimes the dorsal "
                   "forearm."),
        ["LE"],
        hazard(["nerve_vessel"], "The deep radial (posterior interosseous) nerve runs through the muscle belly.",
               ["T1g"], ["posterior interosseous nerve"]),
        ["T1g", "T14c"], ["thumb pain"],
    ),
    muscle(
        28, "extensor-carpi-radialis-longus", "Extensor carpi radialis longus", "lateral forearm",
        [tp("TP", "Just distal to the elbow.", "T19a", U)],
        zones({"back": ["lateral-epicondyle", "dorsum-of-hand"]}, {"back": ["dorsal-forearm", "dorsal-web-of-thumb"]},
              note="Lateral epicondyle, lightly over the dorsal forearm, dorsum of the hand toward the base of "
                   "the thumb."),
        ["LE"],
        hazard(["nerve_vessel"], "Radial nerve branches.", ["T19a"], ["radial nerve"], unverified=True),
        ["T2g", "T19a", "T20a"], ["weak grip"],
    ),
    muscle(
        29, "extensor-carpi-radialis-brevis", "Extensor carpi radialis brevis", "dorsal forearm",
        [tp("TP", "Proximal dorsal forearm.", "T19b", U)],
        zones({"back": ["dorsum-of-hand", "dorsal-wrist"]}, {"back": ["lateral-epicondyle"]},
              note="Dorsum of the hand (3-5 cm zone) and wrist; elbow pain in lateral epicondylalgia."),
        ["LE"],
        hazard(["nerve_vessel"], "Posterior interosseous nerve.", ["T19b"], ["posterior interosseous nerve"],
               unverified=True),
        ["T19b", "T20a", "T20b"], ["wrist pain"],
    ),
    muscle(
        30, "extensor-digitorum", "Extensor digitorum", "dorsal forearm",
        [tp("TP", "Proximal dorsal forearm.", "T19c", U)],
        zones({"back": ["back-of-fingers", "dorsal-forearm"]}, {"back": ["lateral-epicondyle"]},
              note="Fingers, forearm, elbow; stiff and tender fingers, weak grip."),
        ["LE"],
        hazard(["nerve_vessel"], "Posterior interosseous nerve.", ["T19c"], ["posterior interosseous nerve"],
               unverified=True),
        ["T19c", "T20a"], ["finger pain", "weak grip"],
    ),
    muscle(
        31, "brachioradialis", "Brachioradialis", "lateral forearm",
        [tp("TP", "Proximal muscle belly.", "T19a", U)],
        zones({"back": ["lateral-epicondyle", "dorsal-web-of-thumb"]}, {"back": ["dorsal-forearm"]},
              note="Lateral elbow toward the base of the thumb and the web; the most prevalent trigger-point "
                   "muscle in one lateral epicondylalgia sample [T20c]."),
        ["LE"],
        hazard(["nerve_vessel"], "Superficial radial nerve.", ["T19a"], ["superficial radial nerve"],
               unverified=True),
        ["T19a", "T20c"],
    ),
    muscle(
        32, "pronator-teres", "Pronator teres", "proximal anterior forearm",
        [tp("TP", "Proximal belly.", "T18a", U)],
        zones({"front": ["volar-forearm", "volar-wrist"]}, {"front": ["palm", "index-middle-fingers"]},
              note="Volar forearm and wrist, palm and fingers; median-nerve-like tingling."),
        [],
        hazard(["nerve_vessel"], "The median nerve passes between the humeral and ulnar heads.", ["T18a"],
               ["median nerve"]),
        ["T18a", "T18b"], ["medial elbow pain", "mimics carpal tunnel syndrome"],
        extra_conditions=["tendinopathy", "other"],
    ),
    muscle(
        33, "quadratus-lumborum", "Quadratus lumborum", "lateral lumbar",
        [tp("superficial", "Superficial (lateral, vertical fibres).", "T9"),
         tp("deep", "Deep (medial, diagonal fibres).", "T9")],
        zones({"back": ["sacroiliac", "lower-medial-buttock", "iliac-crest", "greater-trochanter"]},
              {"front": ["lower-abdomen", "groin"]},
              note="SI-joint region and lower buttock; along the iliac crest to the lower abdomen and groin; "
                   "greater trochanter."),
        ["LBP", "SCI"],
        hazard(["organ"],
               "Kidney, retroperitoneum and the peritoneal cavity can be reached in the back and abdomen "
               "(specific depths unverified).",
               ["S13"], ["kidney", "peritoneum"]),
        ["T9", "T10", "S13"], ["lumbago", "sciatica via satellite gluteus minimus trigger points"],
    ),
    muscle(
        34, "iliocostalis-lumborum", "Iliocostalis lumborum", "lumbar paraspinal",
        [tp("TP", "Upper lumbar paraspinal (T&S).", "T2h", U)],
        zones({"back": ["upper-buttock"]}, note="Toward the mid-buttock."),
        ["LBP"],
        hazard(["organ"], "Upper lumbar levels: kidney and retroperitoneum lie deep.", ["S13"], ["kidney"],
               unverified=True),
        ["T2h", "S13"],
    ),
    muscle(
        35, "iliocostalis-thoracis", "Iliocostalis thoracis", "thoracic paraspinal",
        [tp("TP", "Thoracic paraspinal (T&S).", "T2h", U)],
        zones({"back": ["mid-back"]}, {"front": ["upper-abdomen"], "back": ["over-scapula"]},
              note="Medially toward the spine; spills into the abdomen and up toward the back of the shoulder."),
        ["THOR", "LBP"],
        hazard(["pneumothorax"],
               "The pleura's medial margin runs along the transverse processes from C7 to T12 (sometimes L1).",
               ["S22"], ["pleura and lung"], over_thorax=True),
        ["T2h", "S22"], ["visceral mimic"],
    ),
    muscle(
        36, "longissimus-thoracis", "Longissimus thoracis", "thoracolumbar",
        [tp("TP", "Thoracolumbar paraspinal (T&S).", "T2h", U)],
        zones({"back": ["sacroiliac"]}, {"back": ["low-back", "upper-buttock"]},
              note="Downward toward the SI region of the buttock."),
        ["LBP"],
        hazard(["pneumothorax"], "At thoracic levels the pleura's medial margin runs along the transverse "
               "processes (C7-T12, sometimes L1).", ["S22"], ["pleura and lung"], over_thorax=True),
        ["T2h", "S22"],
    ),
    muscle(
        37, "lumbar-multifidus", "Lumbar multifidus and rotatores", "deep lumbar",
        [tp("lumbar", "Beside the lumbar spinous processes.", "T14d", U,
            referral=zones({"back": ["lumbar-spine", "low-back"]}, {"back": ["sacrum"], "front": ["lower-abdomen"]})),
         tp("S1", "Beside the spinous process at the S1 level.", "T14d", U,
            referral=zones({"back": ["coccyx"]}))],
        zones({"back": ["lumbar-spine", "low-back"]}, {"back": ["sacrum", "coccyx"], "front": ["lower-abdomen"]},
              note="Pain centred on the spinous process at that level; lumbar trigger points refer a few segments "
                   "lower; the S1 level refers to the coccyx; also the anterior abdomen."),
        ["LBP"],
        hazard(["low"], "Keep the needle directed onto the lamina.", ["T14d"], unverified=True),
        ["T2h", "T14d"], ["coccydynia"],
    ),
    muscle(
        38, "iliopsoas", "Iliopsoas", "anterior hip and abdomen",
        [tp("psoas", "Lateral edge of the muscle.", "T9"),
         tp("femoral-triangle", "In the femoral triangle.", "T9"),
         tp("iliacus", "Inside the iliac crest (iliacus).", "T9")],
        zones({"back": ["low-back", "sacroiliac"]}, {"back": ["sacrum"], "front": ["anterior-thigh"]},
              unverified=["anterior-thigh"],
              note="Vertical band from the lumbar to the sacral region; anterior thigh (unverified)."),
        ["LBP"],
        hazard(["nerve_vessel", "organ"],
               "Femoral nerve, artery and vein in the femoral triangle; peritoneum and bowel if approached "
               "through the abdomen.",
               ["S13", "S121"], ["femoral nerve", "femoral artery", "femoral vein", "peritoneum", "bowel"]),
        ["T9", "S13", "S121"], ["hip flexor pain"],
    ),
    muscle(
        39, "rectus-abdominis", "Rectus abdominis", "abdomen",
        [tp("upper", "Upper end.", "T9"),
         tp("lower", "Near the pubic symphysis.", "T9"),
         tp("mcburney", "'McBurney' trigger point.", "T9")],
        zones({"back": ["low-back", "contra:low-back"]}, {"back": ["sacrum", "mid-back", "contra:mid-back"]},
              note="Horizontal band across the back and sacral area (both sides)."),
        ["LBP"],
        hazard(["organ"], "Peritoneal cavity.", ["S13"], ["peritoneum"]),
        ["T9", "S13"], ["abdominal pain"],
    ),
    muscle(
        40, "gluteus-maximus", "Gluteus maximus", "buttock",
        [tp("TrP1", "Beside the sacrum.", "T11"),
         tp("TrP2", "Lower sacrum, below the iliac crest.", "T11"),
         tp("TrP3", "Lowest medial fibres near the coccyx.", "T11",
            referral=zones({"back": ["coccyx", "lower-medial-buttock"]}))],
        zones({"back": ["upper-buttock", "lower-medial-buttock", "sacrum"]},
              {"back": ["sacroiliac", "coccyx", "lower-lateral-buttock"]},
              note="Local buttock; crescent along the gluteal cleft; lower sacrum; coccyx (TrP3)."),
        [],
        hazard(["nerve_vessel"], "Sciatic nerve deep in the lower buttock.", ["T11"], ["sciatic nerve"],
               unverified=True),
        ["T11", "T13"], ["buttock pain", "sitting pain", "coccydynia"],
        extra_conditions=["low_back_pain", "other"],
    ),
    muscle(
        41, "gluteus-medius", "Gluteus medius", "upper lateral buttock",
        [tp("TP", "Along and just below the iliac crest.", "T12b")],
        zones({"back": ["iliac-crest", "sacrum", "upper-buttock"]},
              {"back": ["low-back", "sacroiliac", "greater-trochanter"], "front": ["lateral-thigh"]},
              note="Low back along the belt line, sacrum, iliac crest, buttock, lateral hip and upper thigh."),
        ["LBP", "HIP"],
        hazard(["low"], "Superior gluteal vessels and nerve lie deep.", ["T6k"],
               ["superior gluteal artery", "superior gluteal nerve"], unverified=True),
        ["T12b", "T6k"], ["SI pain"],
    ),
    muscle(
        42, "gluteus-minimus", "Gluteus minimus", "deep lateral buttock",
        [tp("anterior", "Anterior portion, deep to gluteus medius.", "T8a",
            referral=zones({"back": ["lower-lateral-buttock"], "front": ["lateral-thigh"]},
                           {"front": ["front-of-knee", "lateral-leg", "front-of-ankle"]})),
         tp("posterior", "Posterior portion, deep to gluteus medius.", "T8a",
            referral=zones({"back": ["lower-medial-buttock", "upper-posterior-thigh", "lower-posterior-thigh"]},
                           {"back": ["calf"]}))],
        zones({"back": ["lower-lateral-buttock", "lower-medial-buttock", "upper-posterior-thigh",
                        "lower-posterior-thigh"], "front": ["lateral-thigh"]},
              {"front": ["front-of-knee", "lateral-leg", "front-of-ankle"], "back": ["calf"]},
              note="Anterior part: lower lateral buttock, lateral thigh and knee, peroneal leg to the ankle. "
                   "Posterior part: lower medial buttock, back of the thigh and calf ('pseudo-sciatica'). 55 of "
                   "70 'sciatica' patients had a ligamentous or muscular (often gluteal) origin."),
        ["SCI", "LBP", "HIP"],
        hazard(["nerve_vessel"],
               "Deep; innervated by the superior gluteal nerve; sciatic nerve region (depth unverified).",
               ["T8a"], ["superior gluteal nerve", "sciatic nerve"]),
        ["T8a", "T8b", "T2i"], ["pseudo-sciatica"],
    ),
    muscle(
        43, "piriformis", "Piriformis", "deep buttock",
        [tp("lateral", "Lateral trigger point on the line from the sacrum to the greater trochanter.", "T17a", U),
         tp("medial", "Medial trigger point on the same line.", "T17a", U)],
        zones({"back": ["sacroiliac", "upper-buttock"]},
              {"back": ["greater-trochanter", "lower-lateral-buttock", "upper-posterior-thigh"]},
              note="SI region, buttock and posterior hip, upper posterior thigh (radiation usually stops above "
                   "the knee in piriformis syndrome)."),
        ["SCI"],
        hazard(["nerve_vessel"], "The sciatic nerve runs beneath or through the muscle.", ["T17a"],
               ["sciatic nerve"]),
        ["T17a", "T17b", "T17c"], ["piriformis syndrome", "buttock pain"],
        extra_conditions=["low_back_pain"],
    ),
    muscle(
        44, "tensor-fasciae-latae", "Tensor fasciae latae", "anterolateral hip",
        [tp("TP", "Below the ASIS, anterior to the greater trochanter.", "T6l", U)],
        zones({"back": ["greater-trochanter"], "front": ["lateral-thigh"]},
              note="Greater trochanter and down the lateral thigh; mimics trochanteric bursitis."),
        ["HIP"],
        hazard(["low"], LOW_NOTE, ["T6l"], unverified=True),
        ["T6l"], ["mimics trochanteric bursitis"],
    ),
    muscle(
        45, "hamstrings", "Hamstrings (semitendinosus, semimembranosus, biceps femoris)", "posterior thigh",
        [tp("medial", "Medial hamstrings (semitendinosus, semimembranosus), mid-belly toward the distal end.",
            "T12c", referral=zones({"back": ["lower-medial-buttock", "upper-posterior-thigh"]}, {"back": ["calf"]})),
         tp("biceps-femoris", "Biceps femoris, mid-belly toward the distal end.", "T12c",
            referral=zones({"back": ["back-of-knee", "lower-posterior-thigh"]}))],
        zones({"back": ["lower-medial-buttock", "upper-posterior-thigh", "back-of-knee", "lower-posterior-thigh"]},
              {"back": ["calf"]},
              note="Medial hamstrings: lower buttock and upper posterior thigh, some to the calf. Biceps femoris: "
                   "back of the knee and posterior thigh."),
        ["SCI"],
        hazard(["nerve_vessel"], "Sciatic nerve in the posterior thigh.", ["T13"], ["sciatic nerve"],
               unverified=True),
        ["T12c", "T13"], ["posterior thigh pain", "knee pain"],
    ),
]

EXT_NOTE = "Not in clinical.md: taken from the source named, not cross-checked (unverified)."
EXT_HAZARD = ("No hazard is described in the retrieved source and clinical.md does not cover this muscle; check the "
              "local anatomy before needling. {anatomy}")
EXTRA_SOURCES = {
    "EXT1": "NAMTPT Symptom Checker (not in clinical.md): "
            "http://check.myofascialtherapy.org/symptomcheck/symptom_leg_gastrocnemius.html",
    "EXT2": "MassageLibrary (not in clinical.md): https://massagelibrary.com/Dr+James+Mally/Sports+Massage+DVD/"
            "Trigger+Point+and+Counterstrain/Gastrocnemius/",
    "EXT3": "NAMTPT Symptom Checker (not in clinical.md): "
            "http://check.myofascialtherapy.org/symptomcheck/symptom_leg_soleus.html",
    "EXT4": "Niel Asher: tibialis anterior (not in clinical.md) — "
            "https://www.nielasher.com/blogs/video-blog/trigger-point-therapy-tibialis-anterior",
    "EXT5": "NAMTPT Symptom Checker (not in clinical.md): "
            "http://check.myofascialtherapy.org/symptomcheck/symptom_upper_biceps.html",
    "EXT6": "Aberdeen Chiropractic blog posts: biceps brachii (not in clinical.md) — "
            "https://aberdeenchiropracticblog.com/2018/03/06/trigger-points-in-the-biceps-brachii-muscle/",
    "EXT7": "Aberdeen Chiropractic blog posts: adductor longus (not in clinical.md) — "
            "https://aberdeenchiropracticblog.com/2018/08/04/trigger-points-in-the-adductor-longus/",
    "EXT8": "NAMTPT Symptom Checker (not in clinical.md): "
            "http://myofascialtherapy.org/symptom-checker/symptomcheck/symptom_leg_femoris.html",
    "EXT9": "NAMTPT Symptom Checker (not in clinical.md): "
            "http://check.myofascialtherapy.org/symptomcheck/symptom_leg_lateralis.html",
    "EXT10": "NAMTPT Symptom Checker (not in clinical.md): "
             "http://check.myofascialtherapy.org/symptomcheck/symptom_leg_medialis.html",
}


def ext_hazard(source, anatomy):
    return hazard(["low"], EXT_HAZARD.format(anatomy=anatomy), [source], unverified=True)


EXTRA = [
    muscle(
        None, "biceps-brachii", "Biceps brachii", "anterior arm",
        [tp("central", "Central (mid-belly) trigger points.", "EXT5", U)],
        zones({"front": ["anterior-shoulder", "anterior-arm"]}, {"front": ["front-of-elbow"], "back": ["suprascapular"]},
              note="Upward over the muscle to the anterior deltoid region (superficial anterior shoulder pain); milder "
                   "pain down to the front of the elbow [EXT5]; spill-over above the scapula [EXT6]. " + EXT_NOTE),
        ["SHO"],
        ext_hazard("EXT5", "General anatomy (unverified): the musculocutaneous nerve runs between biceps and "
                   "brachialis, the brachial artery and median nerve along its medial border."),
        ["EXT5", "EXT6"], ["mimics bicipital tendinitis"], unverified=True,
    ),
    muscle(
        None, "adductor-longus", "Adductor longus", "groin and inner thigh",
        [tp("proximal", "Proximal part of the muscle.", "EXT7", U,
            referral=zones({"front": ["front-of-hip", "groin"]})),
         tp("distal", "Distal part of the muscle.", "EXT7", U,
            referral=zones({"front": ["front-of-knee"]}, {"front": ["shin"]}))],
        zones({"front": ["front-of-hip", "groin", "front-of-knee"]}, {"front": ["shin"]},
              note="Proximal trigger points refer into the anterior hip; distal ones to the upper medial knee and "
                   "down the tibia; the commonest muscular cause of groin pain. " + EXT_NOTE),
        ["HIP"],
        hazard(["nerve_vessel"],
               "The femoral nerve, artery and vein lie in the femoral triangle, whose medial border is adductor "
               "longus (anatomy of the triangle from S121, low authority).",
               ["S121"], ["femoral artery", "femoral vein", "femoral nerve"], unverified=True),
        ["EXT7"], ["groin pain"], unverified=True,
    ),
    muscle(
        None, "rectus-femoris", "Rectus femoris", "anterior thigh",
        [tp("TP", "Upper part of the muscle, below the anterior hip.", "EXT8", U)],
        zones({"front": ["front-of-knee"]}, {"front": ["anterior-thigh"]},
              note="Kneecap and sometimes deep in the knee; night pain over the front of the thigh just above the "
                   "kneecap. " + EXT_NOTE),
        [],
        ext_hazard("EXT8", "General anatomy (unverified): the femoral vessels and nerve lie medial to its upper "
                   "part."),
        ["EXT8"], ["knee pain", "mimics patellofemoral pain"], extra_conditions=["other"], unverified=True,
    ),
    muscle(
        None, "vastus-lateralis", "Vastus lateralis", "lateral thigh",
        [tp("TP", "Along the lateral thigh (several trigger points).", "EXT9", U)],
        zones({"front": ["lateral-thigh"]}, {"front": ["front-of-knee"], "back": ["back-of-knee"]},
              note="Full length of the outer front thigh, wrapping around the outer border of the kneecap, and "
                   "behind the knee; painful to lie on that side. " + EXT_NOTE),
        ["HIP"],
        ext_hazard("EXT9", "General anatomy (unverified): no large vessel lies superficial to it."),
        ["EXT9"], ["knee pain", "stuck kneecap"], unverified=True,
    ),
    muscle(
        None, "vastus-medialis", "Vastus medialis", "medial thigh",
        [tp("TP", "Lower medial thigh above the knee.", "EXT10", U)],
        zones({"front": ["front-of-knee"]}, {"front": ["medial-thigh"]},
              note="Front and inner knee, sometimes a line down the lower inner thigh; later a buckling knee. "
                   + EXT_NOTE),
        [],
        ext_hazard("EXT10", "General anatomy (unverified): the femoral vessels pass deep to sartorius medial to "
                   "it in the adductor canal."),
        ["EXT10"], ["knee pain", "buckling knee"], extra_conditions=["other"], unverified=True,
    ),
    muscle(
        None, "gastrocnemius", "Gastrocnemius", "calf",
        [tp("medial-head", "Medial head.", "EXT2", U),
         tp("lateral-head", "Lateral head.", "EXT2", U),
         tp("near-knee", "Near the knee.", "EXT2", U, referral=zones({"back": ["back-of-knee"]}))],
        zones({"back": ["calf", "sole"]}, {"back": ["back-of-knee"], "front": ["lateral-leg"]},
              note="Down the calf and to the instep (middle of the sole); trigger points near the knee refer "
                   "behind the knee; also the lateral leg below the knee [EXT1, EXT2]. " + EXT_NOTE),
        [],
        ext_hazard("EXT1", "General anatomy (unverified): the tibial nerve and popliteal vessels run deep between "
                   "its heads near the knee."),
        ["EXT1", "EXT2"], ["calf cramps", "mimics S1 radiculopathy"], extra_conditions=["tendinopathy", "other"],
        unverified=True,
    ),
    muscle(
        None, "soleus", "Soleus", "deep calf",
        [tp("TP", "Lower part of the deep calf.", "EXT3", U)],
        zones({"back": ["heel"]}, {"back": ["sole", "calf", "sacroiliac"]},
              note="Back and underside of the heel and the lower Achilles tendon; the same-side sacroiliac joint "
                   "and the middle of the calf. A rare trigger point refers to the jaw (not drawn). " + EXT_NOTE),
        [],
        ext_hazard("EXT3", "General anatomy (unverified): the tibial nerve and posterior tibial vessels lie deep "
                   "to it."),
        ["EXT3"], ["heel pain", "mimics plantar fasciitis or Achilles tendinopathy"],
        extra_conditions=["tendinopathy", "other"], unverified=True,
    ),
    muscle(
        None, "tibialis-anterior", "Tibialis anterior", "anterior leg",
        [tp("TP", "Upper third of the muscle belly.", "EXT4", U)],
        zones({"front": ["front-of-ankle", "top-of-foot"]}, {"front": ["shin"]},
              note="Vague pain along the shin, a 3-5 cm zone at the front of the ankle, and the whole big toe. "
                   + EXT_NOTE),
        [],
        ext_hazard("EXT4", "General anatomy (unverified): the deep fibular nerve and anterior tibial artery lie deep "
                   "to it on the interosseous membrane."),
        ["EXT4"], ["big-toe pain mimicking gout", "shin splints"], extra_conditions=["other"], unverified=True,
    ),
]


def build():
    sources = parse_sources() | EXTRA_SOURCES
    used = set()
    for m in MUSCLES + EXTRA:
        used.update(m["sources"])
        used.update(m["hazard"]["sources"])
        used.update(t["source"] for t in m["trigger_points"])
    missing = used - set(sources)
    assert not missing, missing
    doc = {
        "about": (
            "Myofascial trigger-point atlas: the 45 muscles of clinical.md section A.1 (Travell & Simons model, "
            "checked through secondary sources; 'clinical_md_row' is the row number there), and a few more muscles "
            "taken from sources of the same kind that clinical.md does not list (keys EXTn; the whole entry is "
            "marked unverified). Every entry names its sources (keys into 'sources', which are the clinical.md "
            "section G keys). 'unverified' marks what clinical.md marks unverified."
        ),
        "zone_scheme": (
            "Each muscle is described for ONE side. A referral zone names a region of regions.json without its "
            "side suffix ('temple' stands for temple-l or temple-r) and is listed under the view on which that "
            "region is drawn ('front' or 'back'). The matcher mirrors the pattern to the side of the drawing. A "
            "midline region is named by its full code ('sternum'). 'contra:' names the region on the opposite "
            "side (bilateral patterns list both). 'primary' is the essential zone, 'spillover' the spill-over "
            "zone. Where clinical.md lists a pattern without separating the two, the split follows the order and "
            "emphasis of its description and the note says so. A trigger point may carry its own referral, which "
            "must be a subset of the muscle's zones."
        ),
        "conditions": CONDITIONS,
        "tags": {k: {"label": v[0], "conditions": v[1]} for k, v in TAGS.items()},
        "tag_note": (
            "Tags are clinical.md's condition tags; each maps onto the episode-of-care condition codes listed. "
            "CGH maps onto neck pain; jaw, shoulder, thoracic and hip pain have no code of their own and map onto "
            "'other' (shoulder, elbow and hip also onto tendinopathy, thoracic onto joint and spine "
            "dysfunction). Buttock pain counts as low back pain (pain above the gluteal folds)."
        ),
        "hazard_kinds": HAZARD_KINDS,
        "sources": {k: sources[k] for k in sorted(used, key=lambda s: (re.sub(r"\d.*", "", s), int(re.sub(r"\D", "", s)), s))},
        "muscles": MUSCLES + EXTRA,
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    print(len(MUSCLES) + len(EXTRA), "muscles,", len(doc["sources"]), "sources")


if __name__ == "__main__":
    build()
