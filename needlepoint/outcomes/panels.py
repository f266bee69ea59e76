"""The outcomes panel on the episode page: each measure's latest value, change from baseline and responder status."""

from __future__ import annotations

from needlepoint.accounts.models import Membership
from needlepoint.outcomes.progress import episode_progress
from needlepoint.patients.models import Episode
from needlepoint.patients.panels import Panel, register_dashboard_panel, register_episode_panel


@register_episode_panel
def outcomes_panel(episode: Episode) -> Panel:
    """Outcome summary for one episode (the episode page is shown only to roles that see clinical data)."""
    return Panel("outcomes/episode_panel.html", {"episode": episode, "progress": episode_progress(episode)})


@register_dashboard_panel
def reassessments_panel(membership: Membership) -> Panel:
    """Re-assessments overdue and each clinician's completion rate (the dashboard is for clinical roles)."""
    from needlepoint.outcomes.schedule import overdue_board
    from needlepoint.visits.dashboard import QUEUE_HEAD_ROWS

    board = overdue_board(membership, limit=QUEUE_HEAD_ROWS, what="dashboard: re-assessments overdue")
    return Panel("outcomes/dashboard_reassessments.html", board)
