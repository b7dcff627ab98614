-- 0007_board_versions.sql: a board's row gets a new version whenever anything
-- its API representation shows changes. Never edit once released: add a new
-- migration.
--
-- iotronic-api keeps the board rows it read and serves one again only while
-- the board's xmin is the one it read (iotronic-c/api/bcache.h): a statement
-- that reads one index entry instead of the representation's subqueries and
-- JSON. Every UPDATE of a board makes a new tuple version with the writing
-- transaction's xmin; these triggers make one too (a no-op UPDATE of the
-- board, in the same transaction) when the representation changes from
-- another table:
--   sessions    the valid session's id (a session made, ended, replaced or
--               deleted while valid; not last_seen_at)
--   locations   any location row of the board
--   wampagents  the wsurl of the board's wagent, and for boards never
--               registered (config '{}') the url of the registration wagent
--               their first-boot config names (ragent, online, wsurl of any
--               registration wagent); heartbeats change neither
-- Lock order stays as before: a writer of sessions or locations has locked
-- the board row already or locks nothing else after it; a writer of
-- wampagents locks that row, then boards, as the reapers of 7.3 do.

CREATE FUNCTION board_touch(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE boards SET updated_at = updated_at WHERE uuid = ANY (ids)
$$;

CREATE FUNCTION board_touch_sessions_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM board_touch(array_agg(DISTINCT x.u)) FROM (
        SELECT o.board_uuid AS u FROM board_touch_o o JOIN board_touch_n n ON n.id = o.id
        WHERE (o.valid OR n.valid) AND (o.valid IS DISTINCT FROM n.valid
            OR o.session_id IS DISTINCT FROM n.session_id
            OR o.board_uuid IS DISTINCT FROM n.board_uuid)
        UNION ALL
        SELECT n.board_uuid FROM board_touch_o o JOIN board_touch_n n ON n.id = o.id
        WHERE n.valid AND o.board_uuid IS DISTINCT FROM n.board_uuid) x
    HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE FUNCTION board_touch_sessions_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM board_touch(array_agg(DISTINCT board_uuid)) FROM board_touch_n WHERE valid
    HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE FUNCTION board_touch_sessions_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM board_touch(array_agg(DISTINCT board_uuid)) FROM board_touch_o WHERE valid
    HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE TRIGGER sessions_board_touch_update AFTER UPDATE ON sessions
    REFERENCING OLD TABLE AS board_touch_o NEW TABLE AS board_touch_n
    FOR EACH STATEMENT EXECUTE FUNCTION board_touch_sessions_update();
CREATE TRIGGER sessions_board_touch_insert AFTER INSERT ON sessions
    REFERENCING NEW TABLE AS board_touch_n
    FOR EACH STATEMENT EXECUTE FUNCTION board_touch_sessions_insert();
CREATE TRIGGER sessions_board_touch_delete AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS board_touch_o
    FOR EACH STATEMENT EXECUTE FUNCTION board_touch_sessions_delete();

-- Locations change one at a time (a board's create or update).
CREATE FUNCTION board_touch_location() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE boards SET updated_at = updated_at WHERE id = OLD.board_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE boards SET updated_at = updated_at WHERE id = NEW.board_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER locations_board_touch AFTER INSERT OR UPDATE OR DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION board_touch_location();

CREATE FUNCTION board_touch_wampagent() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    moved boolean := TG_OP <> 'UPDATE' OR OLD.wsurl IS DISTINCT FROM NEW.wsurl
                     OR OLD.hostname IS DISTINCT FROM NEW.hostname;
BEGIN
    -- online alone (a death, a restart) changes nothing its boards show
    IF moved AND TG_OP <> 'INSERT' THEN
        UPDATE boards SET updated_at = updated_at WHERE agent = OLD.hostname;
    END IF;
    IF moved AND TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.hostname <> OLD.hostname) THEN
        UPDATE boards SET updated_at = updated_at WHERE agent = NEW.hostname;
    END IF;
    IF (TG_OP <> 'INSERT' AND OLD.ragent) OR (TG_OP <> 'DELETE' AND NEW.ragent) THEN
        UPDATE boards SET updated_at = updated_at WHERE config = '{}'::jsonb;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER wampagents_board_touch_update AFTER UPDATE ON wampagents FOR EACH ROW
    WHEN (OLD.wsurl IS DISTINCT FROM NEW.wsurl OR OLD.hostname IS DISTINCT FROM NEW.hostname
          OR OLD.ragent IS DISTINCT FROM NEW.ragent OR OLD.online IS DISTINCT FROM NEW.online)
    EXECUTE FUNCTION board_touch_wampagent();
CREATE TRIGGER wampagents_board_touch_insert_delete AFTER INSERT OR DELETE ON wampagents
    FOR EACH ROW EXECUTE FUNCTION board_touch_wampagent();
