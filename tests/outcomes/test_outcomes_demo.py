"""The demo step: observations at baseline, re-assessment and discharge, some patient-reported, scored with the
real rules, consistent with visit pain; extending the demo adds outcomes only for the new patients."""

from __future__ import annotations

from needlepoint.demo import build_demo
from needlepoint.outcomes.models import Observation, RomMeasurement, SelfReportLink
from needlepoint.outcomes.progress import episode_progress
from needlepoint.outcomes.scoring import score
from needlepoint.patients.models import Episode
from needlepoint.visits.models import Visit


def test_the_demo_builds_consistent_outcomes_and_extends_idempotently(db) -> None:
    context = build_demo(patients=30, seed=4)
    episodes = Episode.objects.filter(clinic=context.clinic)
    observations = Observation.objects.filter(clinic=context.clinic)
    assert observations.filter(time_point="baseline").values("episode").distinct().count() == episodes.count()
    assert observations.filter(time_point="reassessment").exists()
    assert observations.filter(time_point="discharge").exists() == episodes.filter(status="discharged").exists()
    patient_reported = observations.filter(source="patient")
    assert patient_reported.exists() and not patient_reported.filter(self_report_link__isnull=True).exists()
    assert not observations.filter(source="clinician", recorded_by__isnull=True).exists()
    assert SelfReportLink.objects.filter(clinic=context.clinic, used_at__isnull=True).count() == 0
    for obs in observations[:200]:
        assert obs.observed_on >= obs.episode.opened_at.date()
        from needlepoint.outcomes.scoring import instrument

        ordered = [obs.answers[item.id] for item in instrument(obs.instrument).items]
        assert score(obs.instrument, ordered).total == obs.value
    assert RomMeasurement.objects.filter(clinic=context.clinic).exists()
    for episode in episodes[:10]:
        episode_progress(episode)  # every demo episode renders its progress
    with_visits = Visit.objects.filter(clinic=context.clinic, pain_before__isnull=False).values("episode").distinct()
    for row in with_visits[:10]:
        progress = episode_progress(Episode.objects.get(pk=row["episode"]))
        baseline = next((s.baseline for s in progress.series if s.baseline), None)
        assert baseline is not None
    count = observations.count()
    again = build_demo(patients=30, seed=4)
    assert again.summary.get("observations", 0) == 0 and observations.count() == count
    build_demo(patients=34, seed=4)
    assert observations.count() > count


def test_demo_answers_follow_the_pain_recorded_at_visits(clinician, lbp_episode) -> None:
    import random

    from needlepoint.demo import DemoContext
    from needlepoint.outcomes import demo as outcomes_demo
    from tests.outcomes.conftest import add_visits, days_ago

    visits = add_visits(lbp_episode, clinician, [(8, 6), (7, 5), (6, 4), (4, 2), (2, 1)], days_ago(30))
    context = DemoContext(
        seed=1,
        target_patients=1,
        rng=random.Random(1),
        progress=lambda *_: None,
        clinic=lbp_episode.clinic,
        new_patient_ids=[lbp_episode.patient_id],
        history_patient_ids=[lbp_episode.patient_id],
    )
    outcomes_demo.build(context)
    odi = {o.time_point: o for o in Observation.objects.filter(episode=lbp_episode, instrument="ODI")}
    assert set(odi) == {"baseline", "reassessment"}  # open episode: no discharge yet
    assert odi["baseline"].observed_at < visits[0].started_at
    assert odi["baseline"].value > odi["reassessment"].value
    assert 50 <= odi["baseline"].value <= 90  # pain 8/10 at the first visit
    assert context.summary["observations"] == Observation.objects.filter(episode=lbp_episode).count()
