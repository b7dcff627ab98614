-- 0006_wagent_load.sql: the exact number of online boards of each wagent,
-- kept by the database. Never edit once released: add a new migration.
--
-- Registration picks the online wagent with the fewest online boards
-- (board-protocol.md 5.1). Counting them on each registration visited every
-- board of every wagent (7.5 ms with 20 000 boards); wampagents.boards_online
-- is the wagent's own count written once per heartbeat, so it lags. Here
-- wagent_load.boards_online is count(*) of boards with status 'online' and
-- that agent, changed by statement triggers on boards in the transaction that
-- changes the boards, whoever writes them (a wagent binding, unbinding,
-- releasing or reaping, a conductor reaping or deleting, a registration).
--
-- Why a table of its own and not wampagents: the reaper (7.3) locks a dead
-- wagent's row FOR UPDATE and then waits for that wagent's board rows, while a
-- board taking over to another wagent holds its board row; if the trigger
-- needed the dead wagent's wampagents row the two would deadlock. A
-- wagent_load row is only ever locked by these triggers, as the last lock of
-- their statement, several at once in hostname order: no cycle is possible.
--
-- The rows are keyed by boards.agent (no foreign key: boards.agent has none
-- either) and made on first use.

CREATE TABLE wagent_load (
    hostname varchar(255) NOT NULL,
    boards_online integer NOT NULL DEFAULT 0,
    CONSTRAINT wagent_load_pkey PRIMARY KEY (hostname)
);

-- The per-agent difference between the rows a statement removed
-- (wagent_load_o) and the rows it left (wagent_load_n), added in one
-- statement, rows in hostname order. One statement keeps the cost of a
-- single-row change of a board at some 15 us; a row-level trigger would cost
-- as little there but update one counter row once per board in a reap
-- (seconds for 20 000 boards, the row's versions chaining in one
-- transaction). Transition tables cannot be passed on, hence one function
-- per operation.
CREATE FUNCTION wagent_load_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO wagent_load AS l (hostname, boards_online)
    SELECT x.agent, sum(x.delta) FROM (
        SELECT agent, -1 AS delta FROM wagent_load_o WHERE status = 'online' AND agent IS NOT NULL
        UNION ALL
        SELECT agent, 1 FROM wagent_load_n WHERE status = 'online' AND agent IS NOT NULL) x
    GROUP BY x.agent HAVING sum(x.delta) <> 0 ORDER BY x.agent
    ON CONFLICT (hostname) DO UPDATE SET boards_online = l.boards_online + EXCLUDED.boards_online;
    RETURN NULL;
END $$;

CREATE FUNCTION wagent_load_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO wagent_load AS l (hostname, boards_online)
    SELECT agent, count(*) FROM wagent_load_n WHERE status = 'online' AND agent IS NOT NULL
    GROUP BY agent ORDER BY agent
    ON CONFLICT (hostname) DO UPDATE SET boards_online = l.boards_online + EXCLUDED.boards_online;
    RETURN NULL;
END $$;

CREATE FUNCTION wagent_load_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO wagent_load AS l (hostname, boards_online)
    SELECT agent, -count(*) FROM wagent_load_o WHERE status = 'online' AND agent IS NOT NULL
    GROUP BY agent ORDER BY agent
    ON CONFLICT (hostname) DO UPDATE SET boards_online = l.boards_online + EXCLUDED.boards_online;
    RETURN NULL;
END $$;

CREATE FUNCTION wagent_load_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE wagent_load SET boards_online = 0 WHERE boards_online <> 0;
    RETURN NULL;
END $$;

-- The triggers first: creating them locks boards against writes until this
-- migration commits, so the count below misses nothing.
CREATE TRIGGER boards_wagent_load_update AFTER UPDATE ON boards
    REFERENCING OLD TABLE AS wagent_load_o NEW TABLE AS wagent_load_n
    FOR EACH STATEMENT EXECUTE FUNCTION wagent_load_update();
CREATE TRIGGER boards_wagent_load_insert AFTER INSERT ON boards
    REFERENCING NEW TABLE AS wagent_load_n
    FOR EACH STATEMENT EXECUTE FUNCTION wagent_load_insert();
CREATE TRIGGER boards_wagent_load_delete AFTER DELETE ON boards
    REFERENCING OLD TABLE AS wagent_load_o
    FOR EACH STATEMENT EXECUTE FUNCTION wagent_load_delete();
CREATE TRIGGER boards_wagent_load_truncate AFTER TRUNCATE ON boards
    FOR EACH STATEMENT EXECUTE FUNCTION wagent_load_truncate();

INSERT INTO wagent_load (hostname, boards_online)
SELECT agent, count(*) FROM boards WHERE status = 'online' AND agent IS NOT NULL GROUP BY agent;
