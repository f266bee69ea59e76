"""Walk the audit trail's hash chain in the database (the rules are in ``audit_chain``)."""

from __future__ import annotations

from needlepoint.accounts import audit_chain
from needlepoint.accounts.models import AuditEntry


def verify_audit_chain(using: str = "default") -> audit_chain.ChainReport:
    """Check every entry in id order; the report names the first that does not fit, if any."""
    columns = ("id", "previous_hash", "entry_hash", *audit_chain.CHAINED_FIELDS)
    rows = AuditEntry.objects.using(using).order_by("pk").values(*columns).iterator(chunk_size=5000)
    return audit_chain.walk(rows)
