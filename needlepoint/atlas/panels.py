"""The assessments panel on the episode page: pain drawings, palpation findings and the suggested needling."""

from __future__ import annotations

from django.db.models import Count, Q

from needlepoint.atlas.models import Assessment
from needlepoint.atlas.suggestions import suggested_needling
from needlepoint.patients.models import Episode
from needlepoint.patients.panels import Panel, register_episode_panel

EPISODE_ASSESSMENTS = 20


@register_episode_panel
def assessments_panel(episode: Episode) -> Panel:
    """The episode's assessments with their finding counts, and the needling they suggest (three queries)."""
    assessments = list(
        Assessment.objects.filter(episode=episode)
        .annotate(finding_count=Count("findings", filter=Q(findings__removed_at__isnull=True)))
        .order_by("assessed_at", "pk")[:EPISODE_ASSESSMENTS]
    )
    return Panel(
        "atlas/_episode_panel.html",
        {"episode": episode, "assessments": assessments, "suggested": suggested_needling(episode)},
    )
