-- 0005_qinling_slots.sql: claiming a board's execution slot in one round trip
-- (deviceless-api.md 3.5.1). Never edit once released: add a new migration.
--
-- qinling_claim_slot(board, execution, slots) takes the per-board advisory
-- transaction lock, counts the board's executions in flight and, when one of
-- its `slots` is free, marks the execution dispatched to it. PL/pgSQL runs
-- each statement with a fresh snapshot (READ COMMITTED), so the count sees
-- every claim committed before the lock was granted: several engines agree
-- without a client-side BEGIN ... COMMIT. The lock is held until the calling
-- statement's transaction ends.
--
-- Returns the dispatch time in microseconds since the epoch; 0 when every
-- slot is taken; -1 when the execution is no longer dispatchable (finished,
-- or accepted by a board meanwhile).

CREATE FUNCTION qinling_claim_slot(board uuid, execution uuid, slots integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    busy bigint;
    at timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(board::text, 7361));
    SELECT count(*) INTO busy FROM executions
     WHERE board_id = board AND status = 'running' AND dispatched_at IS NOT NULL
       AND id <> execution;
    IF busy >= slots THEN
        RETURN 0;
    END IF;
    UPDATE executions
       SET board_id = board, status = 'running', dispatched_at = clock_timestamp(),
           attempts = attempts + 1, wait_reason = NULL, retry_at = NULL,
           updated_at = clock_timestamp()
     WHERE id = execution AND status IN ('pending', 'running') AND received_at IS NULL
    RETURNING dispatched_at INTO at;
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    RETURN (extract(epoch FROM at) * 1e6)::bigint;
END
$$;
