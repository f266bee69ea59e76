import json, sys
V = []
def v(drawing, condition, expected, source, note):
    V.append({"id": f"v{len(V)+1:02d}", "drawing": drawing, "condition": condition,
              "expected": expected if isinstance(expected, list) else [expected], "source": source, "note": note})

# Head and neck
v({"posterolateral-neck-r": 6, "mastoid-r": 5, "temple-r": 7, "top-of-shoulder-r": 4}, "tension_type_headache",
  "upper-trapezius", "T1a", "Classic upper trapezius headache; the patient also marks the trigger-point site on the top of the shoulder.")
v({"posterolateral-neck-l": 5, "temple-l": 6, "angle-of-jaw-l": 3}, "neck_pain",
  "upper-trapezius", "T1a", "Upper trapezius pattern with the occasional angle-of-jaw spill-over.")
v({"temple-r": 7}, "tension_type_headache", ["temporalis", "upper-trapezius", "suboccipitals"], "T4a",
  "Ambiguous: clinical.md lists the temple for temporalis and upper trapezius, and the suboccipitals refer over the side of the head.")
v({"temple-l": 6, "eyebrow-l": 4, "upper-molars-l": 3}, "other", "temporalis", "T4b",
  "Temporalis headache with sensitive upper teeth (jaw-pain episode coded as other).")
v({"cheek-r": 6, "upper-molars-r": 5, "lower-molars-r": 4}, "other", "masseter", "T4d",
  "Masseter 'sinusitis' pattern with upper and lower molar pain.")
v({"tmj-and-ear-l": 6, "cheek-l": 3}, "other", ["masseter", "sternocleidomastoid-clavicular"], "T4d",
  "Ambiguous: deep ear pain with a little cheek pain; clinical.md gives deep ear and maxilla for both masseter and the clavicular SCM.")
v({"vertex": 4, "occiput-l": 5, "eyebrow-l": 6, "cheek-l": 5}, "migraine", "sternocleidomastoid-sternal", "T1d",
  "Sternal SCM: vertex, occiput, over the eye, cheek.")
v({"eyebrow-r": 7, "cheek-r": 5, "throat": 3}, "tension_type_headache", "sternocleidomastoid-sternal", "T1d",
  "Sternal SCM: pain over the eye and across the cheek, sore throat.")
v({"forehead-r": 6, "forehead-l": 3, "tmj-and-ear-r": 4}, "tension_type_headache", "sternocleidomastoid-clavicular",
  "T1d", "Clavicular SCM: frontal headache spreading to both sides, deep ear ache.")
v({"vertex": 7}, "tension_type_headache", ["splenius-capitis", "sternocleidomastoid-sternal"], "T3b",
  "Ambiguous: vertex pain is given for splenius capitis and for the sternal SCM.")
v({"behind-eye-l": 7, "angle-of-neck-l": 5}, "migraine", "splenius-cervicis", "T3a",
  "Splenius cervicis: pain through the head to behind the eye plus the angle of the neck.")
v({"occiput-r": 6, "side-of-head-r": 5, "behind-eye-r": 6}, "tension_type_headache", "suboccipitals", "T3b",
  "Suboccipital headache from the occiput over the side of the head to the eye.")
v({"occiput-l": 5, "occiput-r": 5, "side-of-head-l": 4, "side-of-head-r": 4, "forehead-l": 3, "forehead-r": 3},
  "tension_type_headache", ["suboccipitals", "semispinalis-capitis"], "T3b",
  "Ambiguous bilateral band-like headache: suboccipitals (band-like, occiput to forehead) or semispinalis capitis (band around the head).")
v({"side-of-head-l": 6, "temple-l": 3}, "tension_type_headache", ["semispinalis-capitis", "suboccipitals"], "T3c",
  "Band of pain above the ear; the suboccipitals also refer over the side of the head.")
v({"suboccipital-r": 6, "posterior-neck-r": 6, "base-of-neck": 4}, "neck_pain", "cervical-multifidi", "T3b",
  "Posterior cervical group: suboccipital region and down the posterior neck toward T3.")
v({"angle-of-neck-r": 8, "medial-scapular-border-r": 4}, "neck_pain", "levator-scapulae", "T1c",
  "Stiff neck with pain at the angle of the neck and along the vertebral border of the scapula.")
v({"angle-of-neck-l": 7, "posterior-shoulder-l": 3}, "neck_pain", "levator-scapulae", "T1c",
  "Levator scapulae: angle of the neck with posterior shoulder spill-over.")
v({"between-shoulder-blades": 6, "base-of-neck": 4, "acromion-r": 3}, "joint_spine_dysfunction", "middle-trapezius",
  "T2a", "Burning pain toward the C7-T3 spinous processes and over the acromion.")
v({"posterior-neck-l": 5, "mastoid-l": 4, "suprascapular-l": 5}, "neck_pain", "lower-trapezius", "T1b",
  "Lower trapezius: cervical paraspinal, mastoid and suprascapular ache.")
v({"chest-r": 5, "lateral-arm-r": 5, "radial-forearm-r": 4, "thumb-r": 4, "index-middle-fingers-r": 4,
   "medial-scapular-border-r": 5}, "neck_pain", "scalenes", "T1e",
  "Scalenes: chest, arm, radial forearm to thumb and index, and the medial scapular border.")
v({"medial-scapular-border-l": 6, "thumb-l": 5, "index-middle-fingers-l": 5}, None, "scalenes", "T1e",
  "Scalenes mimicking C6 radiculopathy; no episode condition yet.")
# Shoulder and arm
v({"lateral-shoulder-r": 7, "lateral-arm-r": 4, "radial-forearm-r": 3}, "tendinopathy", "supraspinatus", "T2c",
  "Deep mid-deltoid ache running down the arm and forearm.")
v({"lateral-shoulder-l": 6, "lateral-epicondyle-l": 5}, "lateral_epicondylalgia", "supraspinatus", "T14a",
  "Supraspinatus mimicking lateral epicondylalgia.")
v({"anterior-shoulder-r": 8, "lateral-arm-r": 4, "radial-forearm-r": 3, "thumb-r": 2}, "tendinopathy",
  "infraspinatus", "T1f", "Deep anterior shoulder pain with anterolateral arm, forearm and radial hand.")
v({"anterior-shoulder-l": 7}, "tendinopathy", ["infraspinatus", "deltoid", "pectoralis-major", "pectoralis-minor"],
  "T15", "Ambiguous: deep anterior shoulder only; clinical.md gives it for infraspinatus, anterior deltoid and both pectorals.")
v({"posterior-shoulder-r": 7, "posterior-arm-r": 3}, "tendinopathy",
  ["teres-minor", "teres-major", "subscapularis", "triceps-brachii"], "T5a",
  "Ambiguous: posterior deltoid area and posterior upper arm (teres minor, teres major, subscapularis, triceps long head).")
v({"posterior-shoulder-l": 7, "dorsal-wrist-l": 5, "volar-wrist-l": 3}, "tendinopathy", "subscapularis", "T2d",
  "Frozen-shoulder patient with posterior shoulder pain and a band around the wrist.")
v({"posterior-shoulder-r": 6, "posterior-arm-r": 6, "dorsal-forearm-r": 3}, None, ["teres-major", "triceps-brachii"],
  "T5a", "Ambiguous: posterior deltoid, along the long head of triceps, dorsal forearm (teres major or triceps long head).")
v({"inferior-angle-of-scapula-r": 7, "mid-back-r": 5}, "joint_spine_dysfunction", "latissimus-dorsi", "T5b",
  "Latissimus dorsi: inferior angle of the scapula and mid-thoracic back.")
v({"inferior-angle-of-scapula-l": 6, "medial-arm-l": 4, "ring-little-fingers-l": 4}, None, "latissimus-dorsi",
  "T5b", "Latissimus dorsi with pain down the medial arm to the 4th-5th fingers.")
v({"anterior-shoulder-r": 6, "lateral-shoulder-r": 6}, "tendinopathy", "deltoid", "T6b",
  "Anterior deltoid: local anterior and lateral shoulder pain on movement.")
v({"posterior-shoulder-l": 6, "lateral-arm-l": 4}, "tendinopathy", "deltoid", "T6c",
  "Posterior deltoid: posterior shoulder spilling down the lateral arm.")
v({"anterior-shoulder-l": 6, "chest-l": 6, "medial-arm-l": 3, "volar-forearm-l": 3}, "other", "pectoralis-major",
  "T6e", "Pectoralis major (sternal part reaches the upper forearm).")
v({"anterior-shoulder-r": 7, "chest-r": 3, "palm-r": 3, "ring-little-fingers-r": 3}, "other", "pectoralis-minor",
  "T6f", "Pectoralis minor: front of the shoulder, chest, palm and ulnar fingers.")
v({"medial-scapular-border-r": 6, "between-shoulder-blades": 5}, "joint_spine_dysfunction", "rhomboids", "T14b",
  "Local pain between the scapula and the spine.")
v({"side-of-chest-l": 7, "inferior-angle-of-scapula-l": 4}, "joint_spine_dysfunction", "serratus-anterior", "T6i",
  "Side stitch with pain medial to the inferior angle of the scapula.")
v({"lateral-epicondyle-r": 6, "radial-forearm-r": 4}, "lateral_epicondylalgia", "triceps-brachii", "T2f",
  "Triceps medial head: lateral epicondyle and radial forearm.")
v({"medial-epicondyle-l": 6, "ring-little-fingers-l": 4}, None, "triceps-brachii", "T6j",
  "Deep triceps: medial epicondyle and 4th-5th fingers.")
# Elbow and forearm
v({"lateral-epicondyle-r": 7}, "lateral_epicondylalgia",
  ["supinator", "extensor-carpi-radialis-longus", "brachioradialis", "triceps-brachii"], "T1g",
  "Ambiguous: lateral elbow only (supinator, ECRL, brachioradialis, triceps medial head).")
v({"lateral-epicondyle-l": 7, "dorsal-web-of-thumb-l": 5}, "lateral_epicondylalgia", ["supinator", "brachioradialis"],
  "T1g", "Lateral epicondyle and dorsal web of the thumb: supinator or brachioradialis.")
v({"lateral-epicondyle-r": 6, "dorsum-of-hand-r": 5, "dorsal-forearm-r": 2}, "lateral_epicondylalgia",
  "extensor-carpi-radialis-longus", "T19a", "ECRL: lateral epicondyle, light dorsal forearm, dorsum of the hand.")
v({"dorsum-of-hand-l": 7, "dorsal-wrist-l": 5}, "lateral_epicondylalgia", "extensor-carpi-radialis-brevis", "T19b",
  "ECRB: dorsum of the hand and wrist.")
v({"back-of-fingers-r": 6, "dorsal-forearm-r": 5, "lateral-epicondyle-r": 3}, "lateral_epicondylalgia",
  "extensor-digitorum", "T19c", "Extensor digitorum: stiff, painful fingers with forearm and elbow pain.")
v({"lateral-epicondyle-r": 6, "dorsal-web-of-thumb-r": 4, "dorsal-forearm-r": 3}, "lateral_epicondylalgia",
  ["brachioradialis", "supinator"], "T20c",
  "Lateral elbow toward the base of the thumb along the forearm (brachioradialis or supinator).")
v({"volar-forearm-l": 6, "volar-wrist-l": 5, "palm-l": 4, "index-middle-fingers-l": 3}, "other", "pronator-teres",
  "T18a", "Pronator teres mimicking carpal tunnel syndrome.")
# Low back, pelvis and leg
v({"sacroiliac-r": 6, "lower-medial-buttock-r": 5, "iliac-crest-r": 5, "greater-trochanter-r": 4}, "low_back_pain",
  "quadratus-lumborum", "T9", "Quadratus lumborum lumbago: SI region, lower buttock, iliac crest, greater trochanter.")
v({"iliac-crest-l": 6, "lower-abdomen-l": 3, "groin-l": 4}, "low_back_pain", "quadratus-lumborum", "T10",
  "Quadratus lumborum along the iliac crest to the lower abdomen and groin.")
v({"upper-buttock-r": 6, "low-back-r": 4}, "low_back_pain",
  ["iliocostalis-lumborum", "gluteus-medius", "longissimus-thoracis"], "T2h",
  "Ambiguous: low back with pain toward the mid-buttock (iliocostalis lumborum; gluteus medius and longissimus also reach the buttock).")
v({"mid-back-l": 6, "upper-abdomen-l": 3}, "joint_spine_dysfunction", "iliocostalis-thoracis", "T2h",
  "Iliocostalis thoracis: thoracic pain spilling into the abdomen (visceral mimic).")
v({"sacroiliac-r": 6, "upper-buttock-r": 4}, "low_back_pain", ["longissimus-thoracis", "piriformis"], "T2h",
  "Ambiguous: SI region of the buttock (longissimus thoracis or piriformis).")
v({"lumbar-spine": 7, "low-back-l": 4}, "low_back_pain", "lumbar-multifidus", "T14d",
  "Lumbar multifidus: pain centred on the spinous processes.")
v({"coccyx": 7, "sacrum": 3}, "low_back_pain", ["lumbar-multifidus", "gluteus-maximus"], "T14d",
  "Coccydynia: multifidus at S1 or gluteus maximus TrP3.")
v({"low-back-r": 6, "sacroiliac-r": 4, "sacrum": 3}, "low_back_pain", "iliopsoas", "T9",
  "Iliopsoas: vertical band from the lumbar to the sacral region.")
v({"low-back-l": 5, "low-back-r": 5, "sacrum": 3}, "low_back_pain", "rectus-abdominis", "T9",
  "Rectus abdominis: horizontal band across the low back and sacrum.")
v({"upper-buttock-l": 5, "lower-medial-buttock-l": 6, "sacrum": 3}, "low_back_pain", "gluteus-maximus", "T11",
  "Gluteus maximus: buttock and crescent along the gluteal cleft, lower sacrum; pain when sitting.")
v({"iliac-crest-r": 6, "upper-buttock-r": 5, "sacrum": 3, "greater-trochanter-r": 3}, "low_back_pain",
  "gluteus-medius", "T12b", "Gluteus medius: belt line, buttock, sacrum and lateral hip.")
v({"lower-lateral-buttock-l": 5, "lateral-thigh-l": 6, "lateral-leg-l": 4}, "sciatica", "gluteus-minimus", "T8a",
  "Anterior gluteus minimus: lateral 'pseudo-sciatica' down the thigh and peroneal leg.")
v({"lower-medial-buttock-r": 4, "upper-posterior-thigh-r": 6, "lower-posterior-thigh-r": 5, "calf-r": 4},
  "sciatica", ["gluteus-minimus", "hamstrings"], "T8b",
  "Posterior gluteus minimus pseudo-sciatica; the medial hamstrings give a similar pattern.")
v({"sacroiliac-l": 5, "upper-buttock-l": 6, "greater-trochanter-l": 4, "upper-posterior-thigh-l": 4}, "sciatica",
  "piriformis", "T17a", "Piriformis syndrome: SI region, buttock and posterior hip, stopping above the knee.")
v({"greater-trochanter-r": 6, "lateral-thigh-r": 6}, "other", "tensor-fasciae-latae", "T6l",
  "TFL mimicking trochanteric bursitis.")
v({"back-of-knee-l": 7, "lower-posterior-thigh-l": 5}, None, "hamstrings", "T12c",
  "Biceps femoris: back of the knee and posterior thigh.")
v({"lower-medial-buttock-r": 5, "upper-posterior-thigh-r": 6}, "sciatica", ["hamstrings", "gluteus-minimus"], "T13",
  "Medial hamstrings: lower buttock and upper posterior thigh; the posterior gluteus minimus is similar.")

doc = {
    "about": ("Clinical vignettes for the atlas matcher, written from clinical.md section A: a pain drawing (region "
              "code -> intensity 0-10), the episode condition (or null) and the textbook muscle(s). 'expected' lists "
              "several muscles only where clinical.md itself gives the same zones for several muscles. Written "
              "before the matcher was run and not adjusted to it."),
    "cases": V,
}
json.dump(doc, open(sys.argv[1], "w"), indent=1, ensure_ascii=False)
open(sys.argv[1], "a").write("\n")
print(len(V), "vignettes;", sum(len(c["expected"]) > 1 for c in V), "ambiguous")
