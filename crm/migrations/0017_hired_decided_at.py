"""Hired applications record their decision: `decided_at` (and who decided) from the move to `hired`.

Moves to `hired` used to leave `decided_at` empty, so the figures that read it (silver medalists hired)
missed them. Each such application takes the time and author of its last recorded move to `hired`, or
its last movement when no move was recorded.
"""

from django.db import migrations

BACKFILL = """
UPDATE crm_application AS application
SET decided_at = COALESCE(hire.at, application.moved_at),
    decided_by_id = COALESCE(application.decided_by_id, hire.actor_user_id),
    decider_label = CASE WHEN application.decider_label = '' THEN COALESCE(hire.actor_label, '')
                         ELSE application.decider_label END
FROM crm_application AS target
LEFT JOIN LATERAL (
    SELECT change.at, change.actor_user_id, change.actor_label
    FROM crm_stagechange AS change
    WHERE change.application_id = target.id AND change.to_stage = 'hired'
    ORDER BY change.at DESC, change.id DESC
    LIMIT 1
) AS hire ON TRUE
WHERE application.id = target.id AND target.stage = 'hired' AND target.decided_at IS NULL
"""


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0016_account_emails"),
    ]

    # Not reversed: a hire's decision time is true data, there is nothing to undo.
    operations = [migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop)]
