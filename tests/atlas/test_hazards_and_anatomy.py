"""Each muscle's needling hazard (kinds, pleura access, structures, sources), depth figures labelled as population
figures, the anatomical muscle and group members behind CPT counting, and the Travell & Simons corrections."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from needlepoint.atlas.catalogue import (
    DEPTH_FIGURE_LABEL,
    MUSCLES_FILE,
    PLEURA_ACCESS,
    AtlasDataError,
    muscle_anatomy,
    muscles,
)
from tests.atlas.conftest import api_client
from tests.conftest import client_for

TEMPLATES = Path(__file__).resolve().parents[2] / "needlepoint" / "templates" / "atlas"

# The hazard kinds each muscle must carry (issue 9 part 2 and clinical.md A.1/A.2), and how the pleura is reached.
EXPECTED_HAZARDS = [
    ("upper-trapezius", {"pneumothorax"}, "lung_apex"),
    ("middle-trapezius", {"pneumothorax"}, "intercostal"),
    ("lower-trapezius", {"pneumothorax"}, "intercostal"),
    ("levator-scapulae", {"pneumothorax"}, "lung_apex"),
    ("sternocleidomastoid-sternal", {"pneumothorax", "nerve_vessel"}, "lung_apex"),
    ("sternocleidomastoid-clavicular", {"pneumothorax", "nerve_vessel"}, "lung_apex"),
    ("scalenes", {"pneumothorax", "nerve_vessel"}, "lung_apex"),
    ("supraspinatus", {"pneumothorax"}, "lung_apex"),
    ("rhomboids", {"pneumothorax"}, "intercostal"),
    ("serratus-anterior", {"pneumothorax"}, "intercostal"),
    ("pectoralis-major", {"pneumothorax"}, "intercostal"),
    ("pectoralis-minor", {"pneumothorax", "nerve_vessel"}, "intercostal"),
    ("latissimus-dorsi", {"pneumothorax"}, "intercostal"),
    ("iliocostalis-thoracis", {"pneumothorax"}, "intercostal"),
    ("longissimus-thoracis", {"pneumothorax"}, "intercostal"),
    ("quadratus-lumborum", {"pneumothorax", "organ"}, "below_12th_rib"),
    ("iliocostalis-lumborum", {"pneumothorax", "organ"}, "below_12th_rib"),
    ("splenius-capitis", {"nerve_vessel"}, None),
    ("splenius-cervicis", {"nerve_vessel"}, None),
    ("lumbar-multifidus", {"nerve_vessel"}, None),
    ("semispinalis-capitis", {"nerve_vessel"}, None),
    ("suboccipitals", {"nerve_vessel"}, None),
    ("cervical-multifidi", {"nerve_vessel"}, None),
    ("rectus-abdominis", {"organ"}, None),
    ("iliopsoas", {"organ", "nerve_vessel"}, None),
    ("piriformis", {"nerve_vessel"}, None),
    ("infraspinatus", {"low"}, None),
]


@pytest.mark.parametrize(("muscle_id", "kinds", "access"), EXPECTED_HAZARDS)
def test_each_muscle_carries_its_hazard_kinds(muscle_id: str, kinds: set[str], access: str | None) -> None:
    hazard = muscles()[muscle_id].hazard
    assert set(hazard.kinds) == kinds
    assert hazard.pleura_access == access


@pytest.mark.parametrize(
    ("muscle_id", "structure"),
    [
        ("sternocleidomastoid-sternal", "pleural dome"),
        ("sternocleidomastoid-clavicular", "pleural dome"),
        ("quadratus-lumborum", "kidney"),
        ("quadratus-lumborum", "pleura below the 12th rib"),
        ("iliocostalis-lumborum", "kidney"),
        ("iliocostalis-lumborum", "pleura below the 12th rib"),
        ("splenius-capitis", "vertebral artery"),
        ("splenius-capitis", "spinal canal"),
        ("splenius-cervicis", "spinal canal"),
        ("lumbar-multifidus", "spinal canal"),
    ],
)
def test_the_reviewed_hazards_name_their_structures(muscle_id: str, structure: str) -> None:
    assert any(structure in named for named in muscles()[muscle_id].hazard.structures)


def test_no_muscle_near_the_spine_or_pleura_named_in_the_issue_is_rated_low() -> None:
    for muscle_id in ("splenius-capitis", "splenius-cervicis", "lumbar-multifidus"):
        assert "low" not in muscles()[muscle_id].hazard.kinds, muscle_id


def test_every_pneumothorax_hazard_has_pleura_access_and_no_other_hazard_has_one() -> None:
    for muscle in muscles().values():
        hazard = muscle.hazard
        if "pneumothorax" in hazard.kinds:
            assert hazard.pleura_access in PLEURA_ACCESS, muscle.id
            assert hazard.over_thorax, muscle.id
        else:
            assert hazard.pleura_access is None, muscle.id


def test_every_hazard_names_structures_and_sources_unless_low() -> None:
    for muscle in muscles().values():
        hazard = muscle.hazard
        assert hazard.sources, muscle.id
        if "low" not in hazard.kinds:
            assert hazard.structures, muscle.id


def test_every_depth_figure_is_labelled_as_a_population_figure_in_the_data() -> None:
    with_depth = [m for m in muscles().values() if m.hazard.safe_depth_mm is not None]
    assert {m.id for m in with_depth} == {"upper-trapezius", "rhomboids"}
    for muscle in with_depth:
        text = muscle.hazard.safe_depth_source
        assert "Population" in text and "not a safe depth for this patient" in text, muscle.id


def test_the_templates_use_the_one_depth_label() -> None:
    label = (TEMPLATES / "_depth_label.html").read_text(encoding="utf-8")
    assert DEPTH_FIGURE_LABEL in label
    for name in ("muscle.html", "_ranked_row.html"):
        page = (TEMPLATES / name).read_text(encoding="utf-8")
        assert "safe_depth_mm" in page and '{% include "atlas/_depth_label.html" %}' in page, name
        assert "depth limit" not in page.lower(), name


def test_new_hazard_sources_are_cited_in_full() -> None:
    cited = {s.key: s.citation for m in muscles().values() for s in m.hazard.sources}
    for key in ("S210", "S211", "S212", "S213", "S214", "S215", "S216", "S217"):
        # A DOI, or the journal's year;volume:article where no DOI was retrieved.
        assert "doi:10." in cited[key] or re.search(r"\d{4};\d+:\d+", cited[key]), key
    assert "preprint" in cited["S216"]


# --- anatomical muscle and group members ----------------------------------------------------------------


def test_every_entry_names_its_anatomical_muscle() -> None:
    table = muscles()
    assert all(m.anatomical_muscle for m in table.values())
    trapezius = {m.id for m in table.values() if m.anatomical_muscle == "trapezius"}
    assert trapezius == {"upper-trapezius", "middle-trapezius", "lower-trapezius"}
    scm = {m.id for m in table.values() if m.anatomical_muscle == "sternocleidomastoid"}
    assert scm == {"sternocleidomastoid-sternal", "sternocleidomastoid-clavicular"}


@pytest.mark.parametrize(
    ("muscle_id", "members"),
    [
        ("scalenes", {"anterior scalene", "middle scalene", "posterior scalene"}),
        ("hamstrings", {"semitendinosus", "semimembranosus", "biceps femoris"}),
        ("suboccipitals", {"rectus capitis posterior major", "rectus capitis posterior minor"} | set()),
        ("rhomboids", {"rhomboid major", "rhomboid minor"}),
        ("iliopsoas", {"psoas major", "iliacus"}),
    ],
)
def test_group_entries_list_their_members(muscle_id: str, members: set[str]) -> None:
    assert members <= set(muscles()[muscle_id].members)


def test_trigger_points_name_their_member_where_the_data_allow() -> None:
    anatomy = muscle_anatomy()
    hamstrings = anatomy["hamstrings"]
    assert hamstrings.candidates("biceps-femoris") == {"biceps femoris"}
    assert hamstrings.candidates("medial") == {"semitendinosus", "semimembranosus"}
    assert hamstrings.candidates("") == {"semitendinosus", "semimembranosus", "biceps femoris"}
    assert anatomy["iliopsoas"].candidates("psoas") == {"psoas major"}
    assert anatomy["iliopsoas"].candidates("femoral-triangle") == {"psoas major", "iliacus"}
    assert anatomy["upper-trapezius"].candidates("TP1") == {"trapezius"}


# --- Travell & Simons corrections -----------------------------------------------------------------------


def _points(muscle_id: str) -> dict:
    return {tp.code: tp for tp in muscles()[muscle_id].trigger_points}


def test_temporalis_posterior_refers_backward_and_upward_and_the_front_ones_to_the_teeth() -> None:
    points = _points("temporalis")
    posterior = {str(z) for z in points["posterior"].referral.zones}
    assert "side-of-head" in posterior
    assert not posterior & {"upper-molars", "front-teeth"}
    assert "front-teeth" in {str(z) for z in points["anterior"].referral.zones}
    assert "upper-molars" in {str(z) for z in points["middle"].referral.zones}


def test_gluteus_maximus_trp2_lies_above_the_ischial_tuberosity_near_the_sciatic_nerve() -> None:
    trp2 = _points("gluteus-maximus")["TrP2"]
    assert "ischial tuberosity" in trp2.location and "sciatic nerve" in trp2.location
    assert "sacrum" in {str(z) for z in trp2.referral.zones}
    assert "sciatic nerve" in muscles()["gluteus-maximus"].hazard.structures


def _zones(muscle_id: str, part: str) -> set[str]:
    return {str(z) for z in getattr(muscles()[muscle_id].referral, part)}


def test_lower_trapezius_tp3_lies_just_below_the_inferior_angle_of_the_scapula() -> None:
    # T7: the trapezius trigger points lie above the superior border and just below the inferior angle of the scapula.
    tp3 = _points("lower-trapezius")["TP3"]
    assert "inferior angle of the scapula" in tp3.location
    assert tp3.source.key == "T7" and not tp3.unverified


def test_deltoid_and_triceps_trigger_points_named_by_their_pages_are_no_longer_unverified() -> None:
    deltoid = _points("deltoid")
    assert not any(tp.unverified for tp in deltoid.values())
    assert deltoid["middle"].source.key == "T6c"
    triceps = _points("triceps-brachii")
    assert not any(triceps[code].unverified for code in ("long-head", "medial-head", "lateral-head"))
    # T2f's "deep head of the middle triceps" does not settle the deep point's site.
    assert triceps["deep"].unverified


# Zones kept but marked unverified because the cited page, read in the re-check, does not name them.
RECHECK_UNVERIFIED = [
    ("semispinalis-capitis", {"occiput"}, {"side-of-head", "temple"}),
    ("longissimus-thoracis", {"low-back", "upper-buttock"}, {"sacroiliac"}),
    ("gluteus-medius", {"greater-trochanter", "lateral-thigh"}, {"iliac-crest", "sacrum", "upper-buttock"}),
    ("latissimus-dorsi", {"mid-back"}, {"inferior-angle-of-scapula", "posterior-shoulder", "ring-little-fingers"}),
    ("extensor-carpi-radialis-longus", {"dorsal-web-of-thumb"}, {"lateral-epicondyle", "dorsum-of-hand"}),
]


@pytest.mark.parametrize(("muscle_id", "unverified", "confirmed"), RECHECK_UNVERIFIED)
def test_zones_the_cited_page_does_not_name_are_marked_unverified(
    muscle_id: str, unverified: set[str], confirmed: set[str]
) -> None:
    assert _zones(muscle_id, "unverified") == unverified
    kept = _zones(muscle_id, "primary") | _zones(muscle_id, "spillover")
    assert unverified <= kept and confirmed <= kept
    assert not confirmed & _zones(muscle_id, "unverified")


def test_only_the_rechecked_patterns_carry_unverified_zones() -> None:
    marked = {m.id for m in muscles().values() if m.referral.unverified}
    assert marked == {row[0] for row in RECHECK_UNVERIFIED}


# --- the loader refuses incomplete hazard and anatomy data ------------------------------------------------


@pytest.fixture
def data() -> dict:
    return json.loads(MUSCLES_FILE.read_text(encoding="utf-8"))


def _entry(data: dict, muscle_id: str) -> dict:
    return next(m for m in data["muscles"] if m["id"] == muscle_id)


def _load(tmp_path: Path, data: dict) -> None:
    path = tmp_path / "muscles.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    muscles(path)


@pytest.mark.parametrize(
    ("muscle_id", "edit", "message"),
    [
        ("rhomboids", lambda e: e["hazard"].pop("pleura_access"), r"'rhomboids'.*needs pleura_access"),
        ("rhomboids", lambda e: e["hazard"].update(pleura_access="ribs"), r"'rhomboids'.*needs pleura_access"),
        ("supinator", lambda e: e["hazard"].update(pleura_access="intercostal"), r"'supinator'.*only to a pneumo"),
        ("supinator", lambda e: e["hazard"].update(structures=[]), r"'supinator'.*must name the structures"),
        ("deltoid", lambda e: e.pop("anatomical_muscle"), r"'deltoid'.*'anatomical_muscle'.*is required"),
        ("scalenes", lambda e: e.update(members=["anterior scalene"]), r"'scalenes'.*at least two members"),
        ("scalenes", lambda e: e.update(members=["a", "a"]), r"'scalenes'.*listed twice"),
        (
            "hamstrings",
            lambda e: e["trigger_points"][1].update(member="gracilis"),
            r"'hamstrings'.*'biceps-femoris'.*\['gracilis'\] are not among",
        ),
        ("deltoid", lambda e: e["trigger_points"][0].update(member="deltoid"), r"'deltoid'.*only for a group"),
    ],
)
def test_incomplete_hazard_or_anatomy_data_are_refused(tmp_path, data, muscle_id, edit, message) -> None:
    broken = copy.deepcopy(data)
    edit(_entry(broken, muscle_id))
    with pytest.raises(AtlasDataError, match=message):
        _load(tmp_path, broken)


# --- what clinicians see ------------------------------------------------------------------------------------


def test_the_muscle_page_labels_the_depth_figure_and_names_the_pleura_access(clinician) -> None:
    page = client_for(clinician).get("/atlas/muscles/rhomboids/").content.decode()
    assert "19 mm" in page and DEPTH_FIGURE_LABEL in page
    assert "through an intercostal space" in page
    scm = client_for(clinician).get("/atlas/muscles/sternocleidomastoid-sternal/").content.decode()
    assert "Pneumothorax risk" in scm and "at the lung apex" in scm and "pleural dome (lung apex)" in scm
    assert DEPTH_FIGURE_LABEL not in scm  # no depth figure is given for it, so none is labelled


def test_the_api_gives_pleura_access_and_describes_the_depth_figure(clinician) -> None:
    client = api_client(clinician)
    hazard = client.get("/api/v1/atlas/muscles/quadratus-lumborum").json()["hazard"]
    assert hazard["pleura_access"] == "below_12th_rib" and "kidney" in hazard["structures"]
    assert client.get("/api/v1/atlas/muscles/supinator").json()["hazard"]["pleura_access"] is None
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["HazardOut"]
    assert DEPTH_FIGURE_LABEL in schema["properties"]["safe_depth_mm"]["description"]


def test_the_muscle_page_and_api_say_what_an_entry_counts_as_for_cpt(clinician) -> None:
    page = client_for(clinician).get("/atlas/muscles/lower-trapezius/").content.decode()
    assert "For CPT this entry counts as the trapezius." in page
    page = client_for(clinician).get("/atlas/muscles/hamstrings/").content.decode()
    assert "one muscle each: semitendinosus, semimembranosus, biceps femoris" in page
    body = api_client(clinician).get("/api/v1/atlas/muscles/hamstrings").json()
    assert body["anatomical_muscle"] == "hamstrings" and body["members"][2] == "biceps femoris"
    points = {tp["code"]: tp["members"] for tp in body["trigger_point_details"]}
    assert points == {"medial": ["semitendinosus", "semimembranosus"], "biceps-femoris": ["biceps femoris"]}
