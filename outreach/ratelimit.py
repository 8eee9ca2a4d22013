"""The organization's campaign send rate, held in Redis so that every worker shares it.

A fixed one-second window: the key of the current second counts sends; past the organization's
per-second share the send waits for the next window. Redis restarting empties the counters, which
at worst lets one second's sends through again: the rate limit protects the sender's reputation,
never correctness (duplicates are prevented by the outbox, not here).
"""

import time
from datetime import timedelta

from django.core.cache import cache


def take_send_slot(organization, *, now=None):
    """Count a send against the organization's rate; returns None to go, or how long to wait."""
    now = time.time() if now is None else now
    per_second = max(1, organization.campaign_rate_per_minute // 60) if organization.campaign_rate_per_minute >= 60 \
        else None
    if per_second is None:
        # Fewer than one a second: a minute window.
        window, limit = int(now // 60), organization.campaign_rate_per_minute
        key, ttl, wait = f"campaign-rate:{organization.pk}:m{window}", 120, 60 - now % 60
    else:
        window, limit = int(now), per_second
        key, ttl, wait = f"campaign-rate:{organization.pk}:s{window}", 5, 1 - now % 1
    try:
        cache.add(key, 0, timeout=ttl)
        count = cache.incr(key)
    except Exception:  # Redis away: send, and let the outbox's own retry handle what fails next
        return None
    if count <= limit:
        return None
    return timedelta(seconds=max(0.05, wait))
