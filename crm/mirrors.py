"""Candidate columns that mirror rows of other tables, kept in step by PostgreSQL triggers.

A table whose rows carry `candidate_id` (applications, consent states) gets three statement-level
triggers that call one SQL function, `refresh(candidate_ids bigint[])`, with the candidates the
statement touched: once per statement, whatever its number of rows and whoever wrote it (services,
`COPY`, queryset updates, deletes). The refresh function recomputes the mirror and writes only the
candidates whose value changed. Migrations use this module: change it only by adding to it.
"""

# The trigger function shared by every mirrored table; its one argument names the refresh function.
ROWS_CHANGED_FUNCTION = """
CREATE FUNCTION candidate_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT candidate_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT candidate_id FROM old_rows);
    ELSE
        touched := ARRAY(SELECT candidate_id FROM new_rows UNION SELECT candidate_id FROM old_rows);
    END IF;
    IF cardinality(touched) > 0 THEN
        EXECUTE format('SELECT %s($1)', TG_ARGV[0]) USING touched;
    END IF;
    RETURN NULL;
END
$$;
"""
DROP_ROWS_CHANGED_FUNCTION = "DROP FUNCTION candidate_rows_changed();"

TRANSITIONS = (
    ("insert", "NEW TABLE AS new_rows"),
    ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", "OLD TABLE AS old_rows"),
)


def mirror_triggers(name, table, refresh):
    """(SQL creating, SQL dropping) the triggers `<name>_insert|update|delete` that call `refresh`."""
    create = "\n".join(
        f"CREATE TRIGGER {name}_{event} AFTER {event.upper()} ON {table} REFERENCING {transition} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION candidate_rows_changed('{refresh}');"
        for event, transition in TRANSITIONS)
    drop = "\n".join(f"DROP TRIGGER {name}_{event} ON {table};" for event, _ in TRANSITIONS)
    return create, drop
