"""A needled visit counts in the claims report's clinician breakdown whether or not its needling entries were
recorded, from the records and from the summary alike; a visit with entries on two techniques counts under both.
The synthetic generator always writes entries for a needled visit, so this clinic is given visits without any."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import F

from needlepoint.accounts.models import Clinic
from needlepoint.insights.filters import needled_visits, parse_filters
from needlepoint.insights.report import claims_report
from needlepoint.insights.summaries import refresh
from needlepoint.insights.synthetic import generate
from needlepoint.visits.models import NeedlingEntry, Technique, Visit
from tests.insights.test_summaries import assert_same, both, figures

END = date(2026, 6, 30)
AS_OF = date(2026, 7, 1)


def _copy(visit: Visit) -> Visit:
    """A new unsigned visit like ``visit`` (same episode, clinician, pain and needles), with no needling entry."""
    copy = Visit.objects.get(pk=visit.pk)
    copy.pk = None
    copy.signed_at = copy.signed_by = None
    return Visit.objects.bulk_create([copy])[0]


@pytest.fixture
def clinic(db) -> Clinic:
    """The fixture clinic, with six more needled visits that have no needling entry (needles counted on the visit,
    as a visit recorded without its entries has them) and one more whose entries are on two techniques; all signed
    once written, like the generator's."""
    generate(1, 300, seed=47, end_date=END)
    clinic = Clinic.objects.get(slug="synth-s47-1")
    needled = list(Visit.objects.filter(clinic=clinic, needles_inserted__gt=0).order_by("pk")[:40:5])
    added = [_copy(visit) for visit in needled[:6]]
    two = _copy(needled[6])
    entry = NeedlingEntry.objects.filter(visit__in=needled).order_by("pk").first()
    entries = []
    for technique in (Technique.STATIC, Technique.PISTONING):
        copy = NeedlingEntry.objects.get(pk=entry.pk)
        copy.pk, copy.visit, copy.technique = None, two, technique
        entries.append(copy)
    NeedlingEntry.objects.bulk_create(entries)
    signed = Visit.objects.filter(pk__in=[visit.pk for visit in (*added, two)])
    signed.update(signed_at=F("started_at"), signed_by=F("clinician"))
    return clinic


def test_the_clinic_holds_needled_visits_without_entries_and_one_on_two_techniques(clinic: Clinic) -> None:
    needled = Visit.objects.filter(clinic=clinic, needles_inserted__gt=0)
    assert needled.exclude(needling_entries__isnull=False).count() == 6
    assert any(len({e.technique for e in v.needling_entries.all()}) == 2 for v in needled)


def _clinician_visits(clinic: Clinic, source: str, **params: str) -> dict[str, int]:
    filters, options = parse_filters(clinic.pk, params)
    report = claims_report(clinic, filters, options, as_of=AS_OF, source=source, clinician_names={})
    return {row.key: row.visits for row in report.clinicians}


def test_each_clinicians_visit_count_includes_the_visits_without_entries(clinic: Clinic) -> None:
    refresh(clinic)
    filters, _ = parse_filters(clinic.pk, {})
    expected: dict[str, int] = {}
    for clinician_id in needled_visits(filters).values_list("clinician_id", flat=True):
        expected[str(clinician_id)] = expected.get(str(clinician_id), 0) + 1
    bare = Visit.objects.filter(clinic=clinic, needles_inserted__gt=0).exclude(needling_entries__isnull=False)
    assert {str(c) for c in bare.values_list("clinician_id", flat=True)} <= set(expected)
    for source in ("live", "summary"):
        assert _clinician_visits(clinic, source) == expected, source


@pytest.mark.parametrize("filtered", ["", "clinician", "technique"])
def test_live_and_summary_agree(clinic: Clinic, filtered: str) -> None:
    refresh(clinic)
    params: dict[str, str] = {}
    if filtered == "clinician":
        bare = Visit.objects.filter(clinic=clinic, needles_inserted__gt=0).exclude(needling_entries__isnull=False)
        params["clinician"] = str(bare.values_list("episode__opened_by_id", flat=True).first())
    elif filtered == "technique":
        params["technique"] = "static"
    live, summary = both(clinic, **params)
    assert live.episodes > 0
    assert_same(figures(live), figures(summary))
