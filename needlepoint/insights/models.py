"""Outcome imports and the cohort (group) label of each imported episode.

An outcome import brings a clinic's spreadsheet history, or a published trial's dataset, into the clinic as one
episode per patient. The group or cohort a patient belonged to (a trial arm, a treatment programme) has no place
on the Episode itself, so it is kept here, one row per imported episode, beside the record of the import.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.patients.models import Episode


class OutcomeImport(models.Model):
    """One all-or-nothing import of an outcome CSV: who ran it, which file, the options and what it created."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="outcome_imports")
    imported_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    condition = models.CharField(max_length=40)
    options = models.JSONField(
        default=dict, help_text=gettext_lazy("The column names and settings the import was run with")
    )
    summary = models.JSONField(
        default=dict, help_text=gettext_lazy("Rows read, patients, episodes and observations created")
    )

    class Meta:
        indexes = [models.Index(fields=["clinic", "-imported_at"], name="outcome_import_clinic_time")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported_at:%Y-%m-%d %H:%M})"


class EpisodeCohort(models.Model):
    """The group or cohort label of one imported episode (e.g. a trial arm); empty when the file gave none."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    episode = models.OneToOneField(Episode, on_delete=models.PROTECT, related_name="cohort")
    outcome_import = models.ForeignKey(OutcomeImport, on_delete=models.PROTECT, related_name="cohorts")
    label = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "label"], name="episode_cohort_clinic_label")]

    def __str__(self) -> str:
        return self.label or "(no group recorded)"


# ---------------------------------------------------------------------------------------------------- summaries
#
# Pre-aggregated per-episode facts the evidence report reads instead of the visits and observations (the way
# Zulip's analytics tables work): a refresh rebuilds them per clinic with set-based INSERT ... SELECT statements,
# in one transaction, either every episode or only those the change log (``SummaryChange``) names, and records
# the run in ``SummaryRefresh``. The report says which path it used and how current its figures are. The tables
# are derived and rebuilt from the records, so they carry no database foreign keys: no constraint to check per
# row at COMMIT, and a deleted episode's rows are removed by the next refresh (its deletion is in the log).


# The columns a report's times in care read (``queries._summary_select``), carried in the indexes that find them.
IN_CARE = ("needled", "discharge_date", "opened_on", "goals_met")


class EpisodeSummary(models.Model):
    """One episode's facts as of the last refresh: who, what, when, cohort, outcome and the first three visits' pain."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    # Not unique: a unique index makes every insert check the dead versions a rebuild leaves behind.
    episode = models.ForeignKey(Episode, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        null=True,
    )
    condition = models.CharField(max_length=40)
    side = models.CharField(max_length=10, blank=True, help_text=gettext_lazy("The episode's treated side"))
    clinician = models.ForeignKey(
        Membership, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    cohort_label = models.CharField(
        max_length=100, null=True, blank=True, help_text=gettext_lazy("NULL unless imported")
    )
    opened_at = models.DateTimeField()
    discharge_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12)
    discharge_reason = models.CharField(max_length=20, blank=True)
    goals_met = models.BooleanField(help_text=gettext_lazy("Discharged with goals met"))
    days_to_discharge = models.IntegerField(null=True, blank=True)
    needled = models.BooleanField(
        help_text=gettext_lazy("Needles inserted at the first visit (the cohort, fixed at baseline)")
    )
    visits = models.IntegerField(help_text=gettext_lazy("Visits of the episode"))
    visit1_pain_before = models.PositiveSmallIntegerField(null=True, blank=True)
    visit1_pain_after = models.PositiveSmallIntegerField(null=True, blank=True)
    visit2_pain_before = models.PositiveSmallIntegerField(null=True, blank=True)
    visit3_pain_before = models.PositiveSmallIntegerField(null=True, blank=True)
    needling = models.TextField(
        blank=True,
        help_text=gettext_lazy(
            "Each muscle and technique needled at any of its visits, as ',muscle/technique,...,' (the muscle and "
            "technique filters)"
        ),
    )
    opened_month = models.IntegerField(
        default=0, help_text=gettext_lazy("Year and month opened on the clinic's clock (TIME_ZONE), as 202606")
    )
    opened_on = models.DateField(
        null=True, blank=True, help_text=gettext_lazy("The day opened on the clinic's clock (TIME_ZONE)")
    )
    in_cells = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Added up in the summary cells: the patient's only episode in the clinic (``SummaryCell``)"
        ),
    )

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "patient"], name="episode_summary_clinic_pat"),
            models.Index(fields=["clinic", "opened_month"], name="episode_summary_clinic_month"),
            # The times in care of every episode a report covers (its survival figures and counts) read from an
            # index alone, not from the wide rows (PostgreSQL; elsewhere plain indexes): the clinic's, or one
            # condition's or one clinician's without reading the others' (at a million visits a report on one
            # condition read 182,000 rows to keep 47,000: 63 ms of its 0.17 s, 16 ms from this index).
            models.Index(
                fields=["clinic", "opened_at"],
                include=["condition", *IN_CARE, "clinician", "cohort_label"],
                name="episode_summary_in_care",
            ),
            models.Index(
                fields=["clinic", "condition", "opened_at"],
                include=[*IN_CARE, "clinician", "cohort_label"],
                name="episode_summary_condition_care",
            ),
            models.Index(
                fields=["clinic", "clinician", "opened_at"],
                include=[*IN_CARE, "condition", "cohort_label"],
                name="episode_summary_clinician_care",
            ),
            # The episodes a report reads as rows though their month's cells are whole: patients' several episodes.
            models.Index(fields=["clinic"], condition=Q(in_cells=False), name="episode_summary_outside_cells"),
        ]

    def __str__(self) -> str:
        return f"summary of episode #{self.episode_id}"


class EpisodeMeasureSummary(models.Model):
    """One episode's first score on one instrument (when taken as a baseline) and its last later score."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    episode = models.ForeignKey(Episode, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    instrument = models.CharField(max_length=12)
    baseline = models.FloatField(null=True, blank=True)
    final = models.FloatField(null=True, blank=True)
    has_follow_up = models.BooleanField()

    class Meta:
        indexes = [models.Index(fields=["clinic", "instrument"], name="measure_summary_clinic_instr")]

    def __str__(self) -> str:
        return f"{self.instrument} of episode #{self.episode_id}"


class EpisodeRomSummary(models.Model):
    """One episode's first and last measurement of one movement, side and method."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    joint = models.CharField(max_length=30)
    movement = models.CharField(max_length=30)
    side = models.CharField(max_length=5, blank=True)
    method = models.CharField(max_length=12)
    first_degrees = models.FloatField(null=True, blank=True)
    last_degrees = models.FloatField(null=True, blank=True)
    first_percent = models.FloatField(null=True, blank=True)
    last_percent = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "episode"], name="rom_summary_clinic_episode")]

    def __str__(self) -> str:
        return f"{self.joint} {self.movement} {self.side} ({self.method}) of episode #{self.episode_id}"


class EpisodeMovementSummary(models.Model):
    """One episode's range-of-motion gain in one movement by one method, from its series
    (``EpisodeRomSummary``): the treated side's when the episode names a side and it was measured, else the mean
    of the sides measured."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    joint = models.CharField(max_length=30)
    movement = models.CharField(max_length=30)
    method = models.CharField(max_length=12)
    gain = models.FloatField(null=True, blank=True, help_text=gettext_lazy("Degrees, last minus first"))
    percent_gain = models.FloatField(null=True, blank=True, help_text=gettext_lazy("Percent of normal gained"))

    class Meta:
        indexes = [models.Index(fields=["clinic", "episode"], name="movement_summary_clinic_ep")]

    def __str__(self) -> str:
        return f"{self.joint} {self.movement} ({self.method}) of episode #{self.episode_id}"


class SummaryRefresh(models.Model):
    """One run of ``needlepoint insights refresh`` for one clinic: when it started and finished, rows written."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    episodes = models.IntegerField(default=0)
    measures = models.IntegerField(default=0)
    rom_series = models.IntegerField(default=0)
    visits = models.IntegerField(default=0, help_text=gettext_lazy("Needled visits summarised"))
    kind = models.CharField(
        max_length=8,
        default="full",
        help_text=gettext_lazy("'full' (every episode) or 'changes' (episodes changed since)"),
    )
    changed_episodes = models.IntegerField(
        default=0, help_text=gettext_lazy("Episodes rebuilt (all of them for a full refresh)")
    )
    seconds = models.FloatField(
        null=True, blank=True, help_text=gettext_lazy("Wall time, commit and statistics included")
    )
    checked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Last time the change log was found empty: the figures are current to then"),
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text=gettext_lazy("The clinic's clock (TIME_ZONE) the summary's days opened were read on"),
    )
    cells_key = models.CharField(
        max_length=64,
        blank=True,
        help_text=gettext_lazy("The definitions the summary cells were added up with (none: no cells kept)"),
    )

    class Meta:
        indexes = [models.Index(fields=["clinic", "-finished_at"], name="summary_refresh_clinic_time")]

    def __str__(self) -> str:
        return f"refresh of clinic #{self.clinic_id} at {self.finished_at or self.started_at:%Y-%m-%d %H:%M}"


class VisitFacts(models.Model):
    """What the report filters a needled visit's rows on: the clinic, the visit, its episode and clinician, when,
    the episode's condition and cohort, and each muscle needled with its technique."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    visit = models.ForeignKey(
        "visits.Visit", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    episode = models.ForeignKey(Episode, on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+")
    clinician = models.ForeignKey(
        Membership, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    started_at = models.DateTimeField()
    condition = models.CharField(max_length=40, null=True, blank=True)
    cohort_label = models.CharField(max_length=100, null=True, blank=True)
    needling = models.TextField(blank=True, help_text=gettext_lazy("',muscle/technique,...,' of the visit's entries"))
    month = models.IntegerField(
        default=0, help_text=gettext_lazy("Year and month of the visit on the clinic's clock (TIME_ZONE), as 202606")
    )

    class Meta:
        abstract = True


class VisitSummary(VisitFacts):
    """One needled visit's facts as of the last refresh: who, when, which episode's condition and cohort, pain
    before and after, adverse events by severity, the needling techniques used (``,static,pistoning,``) and each
    muscle with the technique used on it (``,upper-trapezius/static,``)."""

    pain_before = models.PositiveSmallIntegerField(null=True, blank=True)
    pain_after = models.PositiveSmallIntegerField(null=True, blank=True)
    mild = models.IntegerField()
    significant = models.IntegerField()
    serious = models.IntegerField()
    techniques = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "started_at"], name="visit_summary_clinic_time")]

    def __str__(self) -> str:
        return f"summary of visit #{self.visit_id}"


class VisitEventSummary(VisitFacts):
    """The adverse events of one type and severity recorded on one needled visit, with the visit's facts the
    report filters on (as ``VisitSummary``), so that counting events by type reads these rows alone."""

    event_type = models.CharField(max_length=40)
    severity = models.CharField(max_length=20)
    events = models.IntegerField(help_text=gettext_lazy("Events of this type and severity on the visit"))

    class Meta:
        indexes = [models.Index(fields=["clinic", "started_at"], name="event_summary_clinic_time")]

    def __str__(self) -> str:
        return f"{self.events} {self.event_type} ({self.severity}) on visit #{self.visit_id}"


class SummaryChange(models.Model):
    """One note that an episode's records changed since the last refresh, written by database triggers
    (``changes.py``) and consumed by the next refresh. Append-only, duplicates allowed: no unique key for a
    clinician's write to wait on."""

    clinic = models.ForeignKey(Clinic, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    episode_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"episode #{self.episode_id} changed"


class SummaryStaleMonth(models.Model):
    """A month whose summary cells hold an incremental refresh's differences (``cells.apply_changes``), noted in the
    refresh's transaction, for ``summaries.catch_up_cells`` to add up again as a full refresh would (after the
    refresh, in the background). Reports read its cells as they are: with the differences they already give every
    figure exactly. ("Stale" is the name the table was given when such months were read as rows.)"""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    kind = models.CharField(max_length=8, help_text=gettext_lazy("'episodes' (by month opened) or 'visits' (given)"))
    month = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["clinic", "kind"], name="summary_stale_clinic_kind")]

    def __str__(self) -> str:
        return f"{self.kind} cells of {self.month} to add up again in clinic #{self.clinic_id}"


# The most figures one cell holds: a relief cell's, 2 counts and 3 time points of 9 (``queries.relief_aggregate_sql``).
CELL_VALUES = 29


class SummaryCell(models.Model):
    """The report's sums for one group of summarised episodes or needled visits, kept by the refresh so that a
    report adds up a few thousand cells instead of a row per episode (``insights/cells.py``).

    A cell is one figure (``figure``: measures, relief or range of motion under a missing follow-up policy, needled
    visits, adverse events) of the episodes opened (or visits given) in one month, by one condition, clinician,
    imported cohort and needled flag, and, where the figure has them, its own keys (an instrument; a joint,
    movement and method; a set of techniques; an event type and severity). ``v1``... hold the figure's sums in
    the order its query returns them (``queries.py``). Episode cells add up only episodes whose patient has no
    other episode in the clinic: the intervals' sums by patient then add up across cells.

    ``needling`` is empty for a cell of every episode (or visit) of its group. A cell keyed ``m:<muscle>`` adds up
    only the episodes with a needling entry on that muscle at any visit (the visits with one), and one keyed
    ``t:<technique>`` those needled with that technique, so that a report filtered on a muscle or a technique reads
    cells too; an episode counts in the cell of each muscle and technique it was needled with. In a visit cell
    keyed by a muscle, k1 holds the techniques used on that muscle, as the report's muscle filter counts them.

    The keys and sums of each figure:

    - ``measures``: k1 the instrument; v1-v9 those with a baseline, sum and sum of squares of the baseline,
      completers, sum and sum of squares of the final value and of the change, responders (default rule);
    - ``relief:<policy>``: no key; v1 episodes, v2 with a baseline, then per time point (end of visit 1, before
      visits 2 and 3) the known count and the relieved, then per time point the seven clustered sums;
    - ``rom:<policy>``: k1-k3 joint, movement and method; v1 episodes, v2 patients, then the seven clustered sums
      of the gain, of the percent of normal gained and of the beyond-the-MDC indicator;
    - ``visits``: k1 the techniques used (``,static,pistoning,``); v1-v6 needled visits, mild, significant and
      serious adverse events, visits with pain before and after, visits relieved by at least the MCID;
    - ``events``: k1 the event type, k2 its severity; v1 the events.
    """

    clinic = models.ForeignKey(
        Clinic, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    figure = models.CharField(max_length=24)
    month = models.IntegerField(
        help_text=gettext_lazy("Year and month opened (episodes) or given (visits), on the clinic's clock")
    )
    condition = models.CharField(max_length=40, null=True, blank=True)
    clinician = models.ForeignKey(
        Membership, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    cohort_label = models.CharField(max_length=100, null=True, blank=True)
    needled = models.SmallIntegerField(db_default=0, help_text=gettext_lazy("1: needled at the first visit"))
    needling = models.CharField(
        max_length=120,
        blank=True,
        db_default="",
        help_text=gettext_lazy("'' for every episode or visit; m:<muscle> or t:<technique> for those needled so"),
    )
    k1 = models.CharField(max_length=200, blank=True, db_default="")
    k2 = models.CharField(max_length=40, blank=True, db_default="")
    k3 = models.CharField(max_length=40, blank=True, db_default="")
    v1 = models.FloatField(null=True, blank=True)
    v2 = models.FloatField(null=True, blank=True)
    v3 = models.FloatField(null=True, blank=True)
    v4 = models.FloatField(null=True, blank=True)
    v5 = models.FloatField(null=True, blank=True)
    v6 = models.FloatField(null=True, blank=True)
    v7 = models.FloatField(null=True, blank=True)
    v8 = models.FloatField(null=True, blank=True)
    v9 = models.FloatField(null=True, blank=True)
    v10 = models.FloatField(null=True, blank=True)
    v11 = models.FloatField(null=True, blank=True)
    v12 = models.FloatField(null=True, blank=True)
    v13 = models.FloatField(null=True, blank=True)
    v14 = models.FloatField(null=True, blank=True)
    v15 = models.FloatField(null=True, blank=True)
    v16 = models.FloatField(null=True, blank=True)
    v17 = models.FloatField(null=True, blank=True)
    v18 = models.FloatField(null=True, blank=True)
    v19 = models.FloatField(null=True, blank=True)
    v20 = models.FloatField(null=True, blank=True)
    v21 = models.FloatField(null=True, blank=True)
    v22 = models.FloatField(null=True, blank=True)
    v23 = models.FloatField(null=True, blank=True)
    v24 = models.FloatField(null=True, blank=True)
    v25 = models.FloatField(null=True, blank=True)
    v26 = models.FloatField(null=True, blank=True)
    v27 = models.FloatField(null=True, blank=True)
    v28 = models.FloatField(null=True, blank=True)
    v29 = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "figure", "needling", "month"], name="summary_cell_clinic_figure_key")
        ]

    def __str__(self) -> str:
        return f"{self.figure} cell of clinic #{self.clinic_id}, {self.month}"
