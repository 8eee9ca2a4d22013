from django.db import migrations

# The candidate's "topic:state" list, recomputed for the candidates a statement on
# consent_consentstate touched (one UPDATE per statement; unchanged candidates are not written).
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

CREATE FUNCTION consent_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT candidate_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT candidate_id FROM old_rows);
    ELSE
        touched := ARRAY(
            SELECT n.candidate_id FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE (n.candidate_id, n.purpose_id, n.state) IS DISTINCT FROM (o.candidate_id, o.purpose_id, o.state)
            UNION
            SELECT o.candidate_id FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.candidate_id <> o.candidate_id);
    END IF;
    IF cardinality(touched) > 0 THEN
        PERFORM consent_refresh_candidate_topics(touched);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER consent_topics_insert AFTER INSERT ON consent_consentstate
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION consent_state_changed();
CREATE TRIGGER consent_topics_update AFTER UPDATE ON consent_consentstate
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION consent_state_changed();
CREATE TRIGGER consent_topics_delete AFTER DELETE ON consent_consentstate
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION consent_state_changed();

SELECT consent_refresh_candidate_topics(ARRAY(SELECT DISTINCT candidate_id FROM consent_consentstate));
"""

DROP = """
DROP TRIGGER consent_topics_insert ON consent_consentstate;
DROP TRIGGER consent_topics_update ON consent_consentstate;
DROP TRIGGER consent_topics_delete ON consent_consentstate;
DROP FUNCTION consent_state_changed();
DROP FUNCTION consent_refresh_candidate_topics(bigint[]);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0013_candidate_outcomes"),
        ("consent", "0004_segment_indexes"),
    ]

    operations = [migrations.RunSQL(REFRESH, DROP)]
