-- 0003_deviceless.sql: the deviceless functions service (deviceless-api.md Appendix B).
--
-- Applied by iotronic-dbsync into the IoTronic database; the service reads the
-- IoTronic tables boards and fleets read-only and never writes them. Never edit
-- this file once released: add a new migration.
--
-- Conventions (Appendix B): ids are uuid, timestamps timestamptz, project ids
-- varchar(64), JSON values jsonb except where text is kept byte for byte
-- (executions.input, executions.logs); created_at NOT NULL DEFAULT now(),
-- updated_at NULL until the first update (the writer sets it).
--
-- Constraint names the service maps to messages (db_last_constraint()):
--   function_aliases_project_id_name_key          -> 409 Duplicate entry ...: project_id, name
--   function_aliases_project_id_function_id_function_version_key
--                                                  -> 409 ...: project_id, function_id, function_version
--   function_versions_function_id_version_number_key (serialised by a row lock anyway)
--   functions_runtime_id_fkey, functions_image_runtime_id_fkey (ON DELETE RESTRICT)
--                                                  -> 403 Runtime <id> is still in use.
--   function_aliases_function_id_fkey (RESTRICT)   -> 403 ... associated with function alias(es).
--
-- Blob reference counts are kept by triggers on the three referencing columns
-- (functions.package_sha256, function_versions.package_sha256,
-- runtimes.image_sha256), so that a count can never drift from the rows: a row
-- and its reference commit or roll back together. A blob whose count drops to
-- zero gets unreferenced_since; the engine's sweeper deletes it (row and file)
-- after [storage] blob_grace.
--
-- Columns beyond Appendix B, and why:
--   runtimes.image_config       the archive's runtime.json (3.2), for the effective config
--   functions.image_runtime_id  the runtime of an image function, so that RESTRICT
--                               protects it like runtime_id does
--   executions.package_sha256, runtime_id, runtime_sha256
--                               what the execution runs, fixed when it is created
--                               (3.2 lifecycle 5: executions created after an upload
--                               use the new image; 2.3: running ones keep their code)
--   executions.board_duration, container_id, first_write_at, retry_at, wait_reason
--                               the board's report and the engine's bookkeeping
--   function_boards             which boards received a function (FunctionRemove targets)
--   board_purges                FunctionRemove/CachePurge owed to boards (an outbox,
--                               delivered when the board is online)

CREATE TABLE blobs (
    sha256 char(64) NOT NULL,
    md5 char(32) NOT NULL,
    size bigint NOT NULL,
    format varchar(8) NOT NULL,
    kind varchar(8) NOT NULL,
    refcount integer NOT NULL DEFAULT 0,
    unreferenced_since timestamptz NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT blobs_pkey PRIMARY KEY (sha256),
    CONSTRAINT blobs_kind_check CHECK (kind IN ('package', 'runtime')),
    CONSTRAINT blobs_format_check CHECK (format IN ('zip', 'tar.gz', 'tar')),
    CONSTRAINT blobs_refcount_check CHECK (refcount >= 0)
);
CREATE INDEX blobs_unreferenced_idx ON blobs (unreferenced_since) WHERE refcount = 0;

CREATE TABLE runtimes (
    id uuid NOT NULL,
    name varchar(255) NULL,
    description varchar(255) NULL,
    image varchar(255) NOT NULL,
    status varchar(16) NOT NULL DEFAULT 'creating',
    is_public boolean NOT NULL DEFAULT true,
    trusted boolean NOT NULL DEFAULT true,
    image_sha256 char(64) NULL,
    image_size bigint NULL,
    image_format varchar(8) NULL,
    image_config jsonb NULL,
    architecture varchar(16) NULL,
    config jsonb NOT NULL DEFAULT '{}',
    status_reason text NULL,
    project_id varchar(64) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT runtimes_pkey PRIMARY KEY (id),
    CONSTRAINT runtimes_status_check
        CHECK (status IN ('creating', 'available', 'error', 'upgrading', 'deleting')),
    CONSTRAINT runtimes_image_sha256_fkey FOREIGN KEY (image_sha256) REFERENCES blobs (sha256),
    CONSTRAINT runtimes_config_check CHECK (jsonb_typeof(config) = 'object')
);
CREATE INDEX runtimes_project_created_idx ON runtimes (project_id, created_at);
CREATE INDEX runtimes_image_sha256_idx ON runtimes (image_sha256);

CREATE TABLE functions (
    id uuid NOT NULL,
    name varchar(255) NULL,
    description varchar(255) NULL,
    runtime_id uuid NULL,
    image_runtime_id uuid NULL,
    code jsonb NOT NULL,
    entry varchar(80) NULL,
    cpu integer NOT NULL,
    memory_size bigint NOT NULL,
    timeout integer NOT NULL,
    count integer NOT NULL DEFAULT 0,
    latest_version integer NOT NULL DEFAULT 0,
    package_sha256 char(64) NULL,
    devices jsonb NOT NULL DEFAULT '[]',
    device_access varchar(8) NOT NULL DEFAULT 'mediated',
    network varchar(8) NOT NULL DEFAULT 'none',
    board_id uuid NULL,
    fleet_id uuid NULL,
    placement varchar(16) NULL,
    keep_warm integer NOT NULL DEFAULT 0,
    warm_ttl integer NOT NULL DEFAULT 600,
    project_id varchar(64) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT functions_pkey PRIMARY KEY (id),
    CONSTRAINT functions_runtime_id_fkey FOREIGN KEY (runtime_id)
        REFERENCES runtimes (id) ON DELETE RESTRICT,
    CONSTRAINT functions_image_runtime_id_fkey FOREIGN KEY (image_runtime_id)
        REFERENCES runtimes (id) ON DELETE RESTRICT,
    CONSTRAINT functions_package_sha256_fkey FOREIGN KEY (package_sha256) REFERENCES blobs (sha256),
    CONSTRAINT functions_code_check CHECK (jsonb_typeof(code) = 'object'),
    CONSTRAINT functions_devices_check CHECK (jsonb_typeof(devices) = 'array'),
    CONSTRAINT functions_device_access_check CHECK (device_access IN ('mediated', 'raw')),
    CONSTRAINT functions_network_check CHECK (network IN ('none', 'host')),
    CONSTRAINT functions_placement_check CHECK (placement IN ('any_online', 'all')),
    CONSTRAINT functions_keep_warm_check CHECK (keep_warm BETWEEN 0 AND 8)
);
CREATE INDEX functions_project_created_idx ON functions (project_id, created_at);
CREATE INDEX functions_runtime_id_idx ON functions (runtime_id);
CREATE INDEX functions_image_runtime_id_idx ON functions (image_runtime_id);
CREATE INDEX functions_package_sha256_idx ON functions (package_sha256);

CREATE TABLE function_versions (
    id uuid NOT NULL,
    function_id uuid NOT NULL,
    version_number integer NOT NULL,
    count integer NOT NULL DEFAULT 0,
    description varchar(255) NULL,
    package_sha256 char(64) NULL,
    project_id varchar(64) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT function_versions_pkey PRIMARY KEY (id),
    CONSTRAINT function_versions_function_id_version_number_key
        UNIQUE (function_id, version_number),
    CONSTRAINT function_versions_function_id_fkey FOREIGN KEY (function_id)
        REFERENCES functions (id) ON DELETE CASCADE,
    CONSTRAINT function_versions_package_sha256_fkey FOREIGN KEY (package_sha256)
        REFERENCES blobs (sha256)
);
CREATE INDEX function_versions_package_sha256_idx ON function_versions (package_sha256);

CREATE TABLE function_aliases (
    id uuid NOT NULL,
    name varchar(255) NOT NULL,
    function_id uuid NOT NULL,
    function_version integer NOT NULL DEFAULT 0,
    description varchar(255) NULL,
    project_id varchar(64) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT function_aliases_pkey PRIMARY KEY (id),
    CONSTRAINT function_aliases_project_id_name_key UNIQUE (project_id, name),
    CONSTRAINT function_aliases_project_id_function_id_function_version_key
        UNIQUE (project_id, function_id, function_version),
    CONSTRAINT function_aliases_function_id_fkey FOREIGN KEY (function_id)
        REFERENCES functions (id) ON DELETE RESTRICT
);
CREATE INDEX function_aliases_function_id_idx ON function_aliases (function_id);

CREATE TABLE executions (
    id uuid NOT NULL,
    function_id uuid NULL,
    function_version integer NOT NULL DEFAULT 0,
    function_alias varchar(255) NULL,
    description varchar(255) NULL,
    status varchar(16) NOT NULL,
    sync boolean NOT NULL DEFAULT true,
    input text NULL,
    input_kind varchar(8) NOT NULL DEFAULT 'none',
    result jsonb NULL,
    logs text NULL,
    board_id uuid NULL,
    fleet_id uuid NULL,
    placement varchar(16) NULL,
    pending_timeout integer NOT NULL,
    deadline timestamptz NOT NULL,
    parent_id uuid NULL,
    trigger_id uuid NULL,
    firing_id uuid NULL,
    executor varchar(8) NULL,
    package_sha256 char(64) NULL,
    runtime_id uuid NULL,
    runtime_sha256 char(64) NULL,
    container_id varchar(64) NULL,
    board_duration double precision NULL,
    first_write_at timestamptz NULL,
    retry_at timestamptz NULL,
    wait_reason text NULL,
    dispatched_at timestamptz NULL,
    received_at timestamptz NULL,
    started_at timestamptz NULL,
    finished_at timestamptz NULL,
    completed_at timestamptz NULL,
    attempts integer NOT NULL DEFAULT 0,
    project_id varchar(64) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT executions_pkey PRIMARY KEY (id),
    CONSTRAINT executions_status_check
        CHECK (status IN ('pending', 'running', 'success', 'failed', 'error')),
    CONSTRAINT executions_input_kind_check CHECK (input_kind IN ('none', 'json', 'raw')),
    CONSTRAINT executions_placement_check CHECK (placement IN ('any_online', 'all')),
    CONSTRAINT executions_parent_id_fkey FOREIGN KEY (parent_id)
        REFERENCES executions (id) ON DELETE SET NULL
);
CREATE INDEX executions_board_active_idx ON executions (board_id, created_at)
    WHERE status IN ('pending', 'running');
CREATE INDEX executions_project_created_idx ON executions (project_id, created_at);
CREATE INDEX executions_function_id_idx ON executions (function_id);
CREATE INDEX executions_parent_id_idx ON executions (parent_id);
-- The sweeper's scan of work not yet finished (3.6), without reading history.
CREATE INDEX executions_active_idx ON executions (created_at)
    WHERE status IN ('pending', 'running');

CREATE TABLE jobs (
    id uuid NOT NULL,
    name varchar(255) NULL,
    function_id uuid NULL,
    function_alias varchar(255) NULL,
    function_version integer NOT NULL DEFAULT 0,
    function_input text NULL,
    status varchar(16) NOT NULL DEFAULT 'running',
    pattern varchar(255) NULL,
    count integer NULL,
    first_execution_time timestamptz NULL,
    next_execution_time timestamptz NULL,
    board_id uuid NULL,
    fleet_id uuid NULL,
    placement varchar(16) NULL,
    pending_timeout integer NULL,
    project_id varchar(64) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT jobs_pkey PRIMARY KEY (id),
    CONSTRAINT jobs_status_check CHECK (status IN ('running', 'paused', 'cancelled', 'done')),
    CONSTRAINT jobs_placement_check CHECK (placement IN ('any_online', 'all'))
);
CREATE INDEX jobs_next_execution_time_idx ON jobs (next_execution_time) WHERE status = 'running';
CREATE INDEX jobs_project_created_idx ON jobs (project_id, created_at);
CREATE INDEX jobs_function_id_idx ON jobs (function_id);

CREATE TABLE webhooks (
    id uuid NOT NULL,
    function_id uuid NULL,
    function_alias varchar(255) NULL,
    function_version integer NULL,
    description varchar(255) NULL,
    board_id uuid NULL,
    fleet_id uuid NULL,
    placement varchar(16) NULL,
    pending_timeout integer NULL,
    project_id varchar(64) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT webhooks_pkey PRIMARY KEY (id),
    CONSTRAINT webhooks_placement_check CHECK (placement IN ('any_online', 'all'))
);
CREATE INDEX webhooks_project_created_idx ON webhooks (project_id, created_at);
CREATE INDEX webhooks_function_id_idx ON webhooks (function_id);

CREATE TABLE triggers (
    id uuid NOT NULL,
    name varchar(255) NULL,
    description varchar(255) NULL,
    source jsonb NOT NULL,
    source_board_id uuid NOT NULL,
    target jsonb NOT NULL,
    function_id uuid NULL,
    function_alias varchar(255) NULL,
    enabled boolean NOT NULL DEFAULT true,
    status varchar(16) NOT NULL DEFAULT 'installing',
    status_reason text NULL,
    local boolean NOT NULL DEFAULT false,
    fire_count bigint NOT NULL DEFAULT 0,
    last_fired_at timestamptz NULL,
    project_id varchar(64) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT triggers_pkey PRIMARY KEY (id),
    CONSTRAINT triggers_status_check
        CHECK (status IN ('installing', 'active', 'pending', 'disabled', 'error')),
    CONSTRAINT triggers_source_check CHECK (jsonb_typeof(source) = 'object'),
    CONSTRAINT triggers_target_check CHECK (jsonb_typeof(target) = 'object')
);
CREATE INDEX triggers_source_board_id_idx ON triggers (source_board_id);
CREATE INDEX triggers_function_id_idx ON triggers (function_id);
CREATE INDEX triggers_project_created_idx ON triggers (project_id, created_at);

CREATE TABLE trigger_firings (
    id uuid NOT NULL,
    trigger_id uuid NOT NULL,
    board_id uuid NOT NULL,
    firing_seq bigint NOT NULL,
    value double precision NULL,
    previous double precision NULL,
    local boolean NOT NULL DEFAULT false,
    sampled_at timestamptz NULL,
    fired_at timestamptz NULL,
    received_at timestamptz NULL,
    execution_ids uuid[] NOT NULL DEFAULT '{}',
    executed_at timestamptz NULL,
    actuated_at timestamptz NULL,
    latency_ms numeric(12, 3) NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT trigger_firings_pkey PRIMARY KEY (id),
    CONSTRAINT trigger_firings_trigger_id_firing_seq_key UNIQUE (trigger_id, firing_seq),
    CONSTRAINT trigger_firings_trigger_id_fkey FOREIGN KEY (trigger_id)
        REFERENCES triggers (id) ON DELETE CASCADE
);
CREATE INDEX trigger_firings_received_at_idx ON trigger_firings (received_at);

CREATE TABLE board_capabilities (
    board_uuid uuid NOT NULL,
    caps jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT board_capabilities_pkey PRIMARY KEY (board_uuid),
    CONSTRAINT board_capabilities_caps_check CHECK (jsonb_typeof(caps) = 'object')
);

CREATE TABLE function_workers (
    id uuid NOT NULL DEFAULT gen_random_uuid(),  -- the paging key of GET .../workers
    board_uuid uuid NOT NULL,
    container_id varchar(64) NOT NULL,
    function_id uuid NOT NULL,
    function_version integer NOT NULL DEFAULT 0,
    state varchar(8) NOT NULL,
    last_used_at timestamptz NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT function_workers_pkey PRIMARY KEY (board_uuid, container_id),
    CONSTRAINT function_workers_state_check CHECK (state IN ('warm', 'running'))
);
CREATE INDEX function_workers_function_idx ON function_workers (function_id, function_version);

CREATE TABLE function_boards (
    function_id uuid NOT NULL,
    board_uuid uuid NOT NULL,
    last_used_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT function_boards_pkey PRIMARY KEY (function_id, board_uuid)
);
CREATE INDEX function_boards_board_uuid_idx ON function_boards (board_uuid);

-- function_id NULL: a CachePurge; function_version NULL: every version.
CREATE TABLE board_purges (
    id uuid NOT NULL,
    board_uuid uuid NOT NULL,
    function_id uuid NULL,
    function_version integer NULL,
    purge text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NULL,
    CONSTRAINT board_purges_pkey PRIMARY KEY (id)
);
CREATE INDEX board_purges_board_uuid_idx ON board_purges (board_uuid, created_at);

-- Reference counting of blobs (see the top of this file).
CREATE FUNCTION qinling_blob_ref(sha char(64), delta integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF sha IS NULL OR delta = 0 THEN
        RETURN;
    END IF;
    UPDATE blobs
       SET refcount = refcount + delta,
           unreferenced_since = CASE WHEN refcount + delta <= 0 THEN now() ELSE NULL END,
           updated_at = now()
     WHERE sha256 = sha;
END
$$;

CREATE FUNCTION qinling_blob_ref_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    col text := TG_ARGV[0];
    old_sha char(64);
    new_sha char(64);
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_sha := to_jsonb(OLD) ->> col;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        new_sha := to_jsonb(NEW) ->> col;
    END IF;
    IF old_sha IS NOT DISTINCT FROM new_sha THEN
        RETURN NULL;
    END IF;
    PERFORM qinling_blob_ref(new_sha, 1);
    PERFORM qinling_blob_ref(old_sha, -1);
    RETURN NULL;
END
$$;

CREATE TRIGGER functions_blob_ref AFTER INSERT OR UPDATE OF package_sha256 OR DELETE ON functions
    FOR EACH ROW EXECUTE FUNCTION qinling_blob_ref_trigger('package_sha256');
CREATE TRIGGER function_versions_blob_ref
    AFTER INSERT OR UPDATE OF package_sha256 OR DELETE ON function_versions
    FOR EACH ROW EXECUTE FUNCTION qinling_blob_ref_trigger('package_sha256');
CREATE TRIGGER runtimes_blob_ref AFTER INSERT OR UPDATE OF image_sha256 OR DELETE ON runtimes
    FOR EACH ROW EXECUTE FUNCTION qinling_blob_ref_trigger('image_sha256');
