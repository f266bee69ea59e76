"""A clinic's licensed wording of instruments whose wording is not shipped (HIT-6, ODI, ...): checked against
the instrument's structure, kept as history, shown on the clinician's form and the patient's phone page, with
the shipped topic labels as the fallback; scoring still uses the printed values only."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from needlepoint.accounts.access import AccessDenied
from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import actions
from needlepoint.outcomes.models import ClinicInstrumentWording, Observation, SelfReportLink
from needlepoint.outcomes.scoring import instrument
from tests.conftest import client_for, make_member
from tests.outcomes.conftest import odi

JSON = "application/json"


def wording_for(code: str, tag: str = "Licensed") -> dict[str, dict]:
    """Complete wording for an instrument: distinctive texts for every item question and option."""
    return {
        item.id: {
            "question": f"{tag} question {item.id}?",
            "options": [f"{tag} {item.id} option {n}" for n in range(len(item.options))],
        }
        for item in instrument(code).items
    }


def wording_post(code: str, tag: str = "Licensed", licence: str = "LIC-42") -> dict[str, str]:
    """What the wording page posts for ``wording_for(code, tag)``."""
    data = {"licence_reference": licence}
    for item_id, entry in wording_for(code, tag).items():
        data[f"q__{item_id}"] = entry["question"]
        data |= {f"o__{item_id}__{n}": text for n, text in enumerate(entry["options"])}
    return data


def test_a_clinic_admin_enters_wording_that_fits_the_instrument(clinic_admin) -> None:
    entry = actions.enter_instrument_wording(clinic_admin, "hit6", wording_for("HIT6"), "  QM-123  ")
    assert entry.instrument == "HIT6" and entry.version == 1 and entry.licence_reference == "QM-123"
    assert entry.items["severe_pain"]["options"] == [f"Licensed severe_pain option {n}" for n in range(5)]
    assert entry.entered_by == clinic_admin
    audited = AuditEntry.objects.get(object_type="outcomes.ClinicInstrumentWording", object_id=str(entry.pk))
    assert audited.action == "update" and "HIT6" in audited.summary and audited.clinic_id == clinic_admin.clinic_id
    # numeric items (PRTEE 0-10) take a question and no options
    prtee = actions.enter_instrument_wording(clinic_admin, "PRTEE", wording_for("PRTEE"), "MAC-1")
    assert all(v["options"] == [] for v in prtee.items.values())


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda w: w["severe_pain"]["options"].pop(), "severe_pain", "has 5 options in published order; 4 were"),
        (lambda w: w["severe_pain"]["options"].append("extra"), "severe_pain", "6 were given"),
        (lambda w: w.update(made_up={"question": "Q", "options": []}), "made_up", "not an item of HIT6"),
        (lambda w: w["too_tired"].update(question="   "), "too_tired", "needs its question text"),
        (lambda w: w["concentration"]["options"].__setitem__(2, " "), "concentration", "option 3 has no text"),
        (lambda w: w.pop("wish_to_lie_down"), "wish_to_lie_down", "is missing"),
    ],
)
def test_wording_that_does_not_fit_is_refused_and_nothing_saved(clinic_admin, change, field, message) -> None:
    given = wording_for("HIT6")
    change(given)
    with pytest.raises(ValidationError) as refused:
        actions.enter_instrument_wording(clinic_admin, "HIT6", given, "QM-123")
    assert message in " ".join(refused.value.message_dict[field])
    assert not ClinicInstrumentWording.objects.exists()


def test_other_refusals(clinic_admin, clinician, front_desk) -> None:
    with pytest.raises(ValidationError, match="licence number"):
        actions.enter_instrument_wording(clinic_admin, "HIT6", wording_for("HIT6"), " ")
    with pytest.raises(ValidationError, match="shipped"):
        actions.enter_instrument_wording(clinic_admin, "LEFS", wording_for("LEFS"), "X")
    with pytest.raises(ValidationError, match="not a known instrument"):
        actions.enter_instrument_wording(clinic_admin, "XYZ", {}, "X")
    for member in (clinician, front_desk):
        with pytest.raises(AccessDenied):
            actions.enter_instrument_wording(member, "HIT6", wording_for("HIT6"), "X")
    assert not ClinicInstrumentWording.objects.exists()


def test_a_new_entry_supersedes_the_old_one_and_history_is_kept(clinic_admin) -> None:
    first = actions.enter_instrument_wording(clinic_admin, "HIT6", wording_for("HIT6", "Old"), "QM-1")
    second = actions.enter_instrument_wording(clinic_admin, "HIT6", wording_for("HIT6", "New"), "QM-2")
    assert (first.version, second.version) == (1, 2)
    first.refresh_from_db()
    assert first.items["severe_pain"]["question"] == "Old question severe_pain?"  # never overwritten
    assert ClinicInstrumentWording.objects.filter(instrument="HIT6").count() == 2
    current = actions.current_wording(clinic_admin.clinic_id, "HIT6")
    assert current is not None and current.questions["severe_pain"] == "New question severe_pain?"


def test_another_clinics_wording_is_invisible(clinic_admin, outsider) -> None:
    actions.enter_instrument_wording(clinic_admin, "HIT6", wording_for("HIT6", "Ours"), "QM-1")
    assert actions.current_wording(outsider.clinic_id, "HIT6") is None
    other_admin = make_member(outsider.clinic, "olga", "clinic_admin")
    body = client_for(other_admin).get("/api/v1/outcomes/instruments/HIT6/wording").json()
    assert body["clinic_entered"] is False and body["version"] is None
    assert body["items"][0]["question"] == instrument("HIT6").items[0].label
    page = client_for(other_admin).get("/outcomes/instruments/HIT6/wording/")
    assert b"Ours question" not in page.content and b"has not entered this wording" in page.content


def test_the_wording_page_is_for_clinic_admins(clinic_admin, clinician, front_desk) -> None:
    url = "/outcomes/instruments/HIT6/wording/"
    for member in (clinician, front_desk):
        assert client_for(member).get(url).status_code == 403
        assert client_for(member).post(url, wording_post("HIT6")).status_code == 403
    assert not ClinicInstrumentWording.objects.exists()
    client = client_for(clinic_admin)
    plans = client.get("/outcomes/instruments/")
    assert url.encode() in plans.content and b"Enter licensed wording" in plans.content
    page = client.get(url)
    assert page.status_code == 200
    # prefilled with the topic labels and option labels when nothing was entered
    assert instrument("HIT6").items[0].label.encode() in page.content and b'value="Never"' in page.content
    saved = client.post(url, wording_post("HIT6", "Typed"))
    assert saved.status_code == 302
    entry = ClinicInstrumentWording.objects.get()
    assert entry.items["concentration"]["options"][4] == "Typed concentration option 4"
    again = client.get(url)
    assert b"Typed question severe_pain?" in again.content and b"version 1" in again.content
    assert b"your wording (version 1)" in client.get("/outcomes/instruments/").content
    assert client.get("/outcomes/instruments/LEFS/wording/").status_code == 404


def test_a_bad_post_shows_the_reason_and_saves_nothing(clinic_admin) -> None:
    data = wording_post("HIT6") | {"o__severe_pain__1": "", "licence_reference": "QM-9"}
    page = client_for(clinic_admin).post("/outcomes/instruments/HIT6/wording/", data)
    assert page.status_code == 200 and b"option 2 has no text" in page.content and b"Nothing was saved" in page.content
    assert not ClinicInstrumentWording.objects.exists()


def test_the_clinician_form_shows_the_entered_wording_and_scores_by_index(clinic_admin, clinician, lbp_episode) -> None:
    url = f"/patients/{lbp_episode.patient_id}/episodes/{lbp_episode.pk}/outcomes/record/ODI/"
    client = client_for(clinician)
    fallback = client.get(url)
    assert instrument("ODI").items[0].label.encode() in fallback.content
    assert instrument("ODI").items[0].options[1].label.encode() in fallback.content
    assert b"Licensed question" not in fallback.content
    actions.enter_instrument_wording(clinic_admin, "ODI", wording_for("ODI"), "FAIRBANK-7")
    page = client.get(url)
    assert b"Licensed question pain_intensity?" in page.content
    assert b"Licensed pain_intensity option 1" in page.content and b"FAIRBANK-7" in page.content
    posted = {"time_point": "baseline", "observed_on": str(lbp_episode.opened_at.date()), "source": "clinician"}
    posted |= {k: str(v) for k, v in odi(2).items()}
    assert client.post(url, posted).status_code == 302
    assert Observation.objects.get(instrument="ODI").value == 40.0  # printed 2 (third statement) everywhere = 40 %


def test_an_instrument_goes_to_a_phone_only_once_its_licensed_wording_is_entered(
    clinic_admin, clinician, lbp_episode
) -> None:
    # Without the clinic's licensed wording ODI cannot be sent: a patient never answers topic labels.
    with pytest.raises(ValidationError) as refused:
        actions.create_self_report_link(clinician, lbp_episode, time_point="reassessment")
    assert "ODI has no wording here yet" in str(refused.value) and "Nothing was sent" in str(refused.value)
    assert not SelfReportLink.objects.filter(episode=lbp_episode).exists()
    actions.enter_instrument_wording(clinic_admin, "ODI", wording_for("ODI", "Phone"), "FAIRBANK-7")
    second = actions.create_self_report_link(clinician, lbp_episode, time_point="reassessment")
    page = Client().get(f"/p/{second.token}/")
    assert b"Phone question lifting?" in page.content and b"Phone lifting option 5" in page.content
    assert b"numbered in the order printed" not in page.content


def test_the_api_reads_and_replaces_the_wording(clinic_admin, clinician, front_desk) -> None:
    url = "/api/v1/outcomes/instruments/hit6/wording"
    body = {"licence_reference": "QM-5", "items": wording_for("HIT6")}
    assert client_for(clinician).put(url, json.dumps(body), content_type=JSON).status_code == 403
    assert client_for(front_desk).get(url).status_code == 403
    admin = client_for(clinic_admin)
    made = admin.put(url, json.dumps(body), content_type=JSON)
    assert made.status_code == 200 and made.json()["version"] == 1 and made.json()["clinic_entered"] is True
    shown = client_for(clinician).get(url).json()
    assert shown["items"][0] == {
        "id": "severe_pain",
        "question": "Licensed question severe_pain?",
        "options": [f"Licensed severe_pain option {n}" for n in range(5)],
    }
    body["items"]["severe_pain"]["options"] = ["only one"]
    refused = admin.put(url, json.dumps(body), content_type=JSON)
    assert refused.status_code in (400, 422) and "5 options" in refused.text
    assert ClinicInstrumentWording.objects.count() == 1
    assert admin.get("/api/v1/outcomes/instruments/LEFS/wording").status_code == 404


def test_the_data_files_say_the_clinic_enters_the_licensed_wording() -> None:
    licensed = ["HIT6", "MIDAS", "NDI", "ODI", "PRTEE", "QUICKDASH", "RMDQ"]
    for code in licensed:
        licence = instrument(code).licence
        assert licence["wording_shipped"] is False
        assert "enters the clinic's licensed wording" in licence["clinic_wording"]


@pytest.mark.parametrize("code", ["ODI", "NDI"])
def test_a_score_kept_as_a_statement_is_refused_and_the_page_does_not_offer_one(clinic_admin, code) -> None:
    """The NDI's and ODI's options are their scores (their statements are licensed): a score saved as an option's
    text would reach the patient's phone as if it were the statement, so it is refused, and the wording page
    leaves those boxes empty for the admin to type each statement."""
    defn = instrument(code)
    first = defn.items[0]
    given = wording_for(code)
    given[first.id]["options"][0] = first.options[0].label  # "0 (no disability)"
    given[first.id]["options"][3] = " 3 "
    with pytest.raises(ValidationError) as refused:
        actions.enter_instrument_wording(clinic_admin, code, given, "LIC-1")
    message = " ".join(refused.value.message_dict[first.id])
    assert "option 1, 4 gives the score, not the statement" in message
    assert not ClinicInstrumentWording.objects.exists()
    client = client_for(clinic_admin)
    page = client.get(f"/outcomes/instruments/{code}/wording/").content.decode()
    assert f'name="o__{first.id}__0"' in page
    assert 'value="0 (no disability)"' not in page and f'name="o__{first.id}__1" value="1"' not in page
    posted = client.post(f"/outcomes/instruments/{code}/wording/", wording_post(code) | {f"o__{first.id}__2": "2"})
    assert posted.status_code == 200 and b"gives the score, not the statement" in posted.content
    assert not ClinicInstrumentWording.objects.exists()
    assert actions.enter_instrument_wording(clinic_admin, code, wording_for(code), "LIC-1").version == 1
