-- 0002_board_protocol.sql: what board-protocol.md section 11 adds.
--
-- Board credentials (4.1), the liveness of wagents (7.1, 7.3) and the state of
-- board sessions (5.3, 7.2). Never edit once released: add a new migration.
--
-- Names: board_credentials_pkey (board_uuid), board_credentials_board_uuid_fkey
-- (-> boards.uuid ON DELETE CASCADE), sessions_ended_at_idx.
--
-- board_credentials.secret is readable only by the role the wagents use: a new
-- table grants nothing to PUBLIC, so a deployment gives SELECT on it to that
-- role alone (the API's role needs none).

CREATE TABLE board_credentials (
    board_uuid uuid NOT NULL,
    secret varchar(64) NOT NULL,  -- the board secret (4.1); never logged, never emitted
    auth_required boolean NOT NULL DEFAULT false,
    registered_code varchar(36) NULL,  -- the code that last registered (5.1)
    registered_at timestamptz NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT board_credentials_pkey PRIMARY KEY (board_uuid),
    CONSTRAINT board_credentials_board_uuid_fkey FOREIGN KEY (board_uuid)
        REFERENCES boards (uuid) ON DELETE CASCADE
);

ALTER TABLE wampagents
    ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN wstun_url varchar(255) NULL,
    ADD COLUMN boards_online integer NOT NULL DEFAULT 0;

-- Sessions recorded before this migration were all anonymous: the original
-- agent knows no other method.
ALTER TABLE sessions
    ADD COLUMN peer varchar(64) NULL,  -- remote address and port
    ADD COLUMN authmethod varchar(16) NOT NULL DEFAULT 'anonymous',  -- or 'wampcra'
    ADD COLUMN last_seen_at timestamptz NULL,
    ADD COLUMN ended_at timestamptz NULL;

-- The wagent's periodic task deletes invalid sessions older than
-- [wagent] session_history.
CREATE INDEX sessions_ended_at_idx ON sessions (ended_at) WHERE NOT valid;
