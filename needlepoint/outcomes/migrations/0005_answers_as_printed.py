"""Stored item answers become the values printed on the form instead of the options' 0-based positions.

Only three instruments print values that differ from the position: the GROC (−7 … +7 printed, positions 0-14),
the HIT-6 (6/8/10/11/13 printed, positions 0-4) and the QuickDASH (1-5 printed, positions 0-4). For the others
(NDI, ODI, LEFS, RMDQ and the 0-N scales) the printed value is the position or the number itself, so nothing
changes. The score (``value``) is untouched: it was computed from the same option either way. The tables are
frozen here as the instrument files stood when answers were positions, so a later data change cannot alter
what this migration does.
"""

from django.db import migrations

GROC = {"global_change": [-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7]}
HIT6_ITEMS = ("severe_pain", "limits_daily_activities", "wish_to_lie_down", "too_tired", "fed_up_irritated",
              "concentration")  # fmt: skip
QUICKDASH_ITEMS = (
    "open_jar", "heavy_chores", "carry_bag", "wash_back", "use_knife", "forceful_recreation", "social_interference",
    "work_limited", "pain", "tingling", "sleep", "work_technique", "work_pain", "work_as_well", "work_usual_time",
    "sport_technique", "sport_pain", "sport_as_well", "sport_usual_time",
)  # fmt: skip
PRINTED = {
    "GROC": GROC,
    "HIT6": {item: [6, 8, 10, 11, 13] for item in HIT6_ITEMS},
    "QUICKDASH": {item: [1, 2, 3, 4, 5] for item in QUICKDASH_ITEMS},
}


def _convert(apps, forward: bool) -> None:
    Observation = apps.get_model("outcomes", "Observation")
    for code, items in PRINTED.items():
        changed = []
        for obs in Observation.objects.filter(instrument=code).only("pk", "answers").iterator(chunk_size=2000):
            answers = dict(obs.answers or {})
            for item, printed in items.items():
                given = answers.get(item)
                if given is None:
                    continue
                answers[item] = printed[int(given)] if forward else printed.index(int(given))
            if answers != obs.answers:
                obs.answers = answers
                changed.append(obs)
        Observation.objects.bulk_update(changed, ["answers"], batch_size=1000)


def to_printed(apps, schema_editor) -> None:
    """Positions to printed values."""
    _convert(apps, forward=True)


def to_positions(apps, schema_editor) -> None:
    """Printed values back to positions (reversing this migration)."""
    _convert(apps, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0004_shared_plot_cache"),
    ]

    operations = [migrations.RunPython(to_printed, to_positions)]
