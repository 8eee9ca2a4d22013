from django.db import migrations

from crm.mirrors import mirror_triggers

# The candidate's "topic:state" list, recomputed for the candidates a statement on
# consent_consentstate touched (crm.mirrors); unchanged candidates are not written.
REFRESH = """
CREATE FUNCTION consent_refresh_candidate_topics(candidate_ids bigint[]) RETURNS void LANGUAGE sql AS $$
    UPDATE crm_candidate c
       SET consent_topics = o.topics
      FROM (
        SELECT c2.id,
               coalesce(array_agg((p.key || ':' || s.state)::varchar ORDER BY p.key)
                        FILTER (WHERE s.id IS NOT NULL), '{}') AS topics
          FROM crm_candidate c2
          LEFT JOIN consent_consentstate s ON s.candidate_id = c2.id
          LEFT JOIN consent_consentpurpose p ON p.id = s.purpose_id
         WHERE c2.id = ANY(candidate_ids)
         GROUP BY c2.id
      ) o
     WHERE c.id = o.id AND c.consent_topics <> o.topics
$$;
"""
BACKFILL = "SELECT consent_refresh_candidate_topics(ARRAY(SELECT DISTINCT candidate_id FROM consent_consentstate));"

TRIGGERS, DROP_TRIGGERS = mirror_triggers("consent_topics", "consent_consentstate",
                                          "consent_refresh_candidate_topics")


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0013_candidate_outcomes"),
        ("consent", "0004_segment_indexes"),
    ]

    operations = [migrations.RunSQL(
        [REFRESH, TRIGGERS, BACKFILL],
        [DROP_TRIGGERS, "DROP FUNCTION consent_refresh_candidate_topics(bigint[]);"],
    )]
