-- 0004_triggers.sql: what the trigger engine needs beyond Appendix B's
-- triggers and trigger_firings tables (created by 0003; deviceless-api.md 3.7).
--
-- Never edit once released: add a new migration.
--
--   triggers.install_at          when the engine last sent the source board its
--                                set (TriggerSet); a trigger still `installing`
--                                or `pending` on an online board a few seconds
--                                after that is sent again, so a lost message
--                                or a board busy at boot never leaves it there.
--                                Kept apart from updated_at, which only the
--                                tenant's updates touch (1.5).
--   executions_trigger_id_idx    GET /v1/executions?trigger_id=... and the
--   executions_firing_id_idx     engine's joins from a firing to its
--                                executions, without scanning the history.
-- The newest-first pages of firings use 0003's UNIQUE (trigger_id, firing_seq).

ALTER TABLE triggers ADD COLUMN install_at timestamptz NULL;

CREATE INDEX executions_trigger_id_idx ON executions (trigger_id) WHERE trigger_id IS NOT NULL;
CREATE INDEX executions_firing_id_idx ON executions (firing_id) WHERE firing_id IS NOT NULL;
