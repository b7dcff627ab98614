/* api/sqlkind.c: see sqlkind.h. Column lists follow section 3's field order
 * exactly: api_render_item() writes column i as field i. */
#include "api/sqlkind.h"

#define TS API_SQL_TS
#define PROJECT_VIS(col) col " IS NOT DISTINCT FROM $3"

/* The first-boot config of a board never registered (3.1), else its stored
 * settings without the board credential (board-protocol 4.1). */
#define BOARD_CONFIG                                                                               \
    "CASE WHEN b.config = '{}'::jsonb THEN json_build_object('iotronic', "                         \
    "json_build_object('board', json_build_object('code', b.code), 'wamp', "                       \
    "json_build_object('registration-agent', json_build_object('url', "                            \
    "(SELECT r.wsurl FROM wampagents r WHERE r.ragent ORDER BY r.online DESC, r.id "               \
    "LIMIT 1), 'realm', 's4t'))))::text ELSE (b.config #- '{iotronic,board,auth}')::text END"

#define BOARD_LOCATION                                                                             \
    "(SELECT coalesce(json_agg(json_build_object('longitude', l.longitude, 'latitude', "           \
    "l.latitude, 'altitude', l.altitude, 'updated_at', " TS(                                       \
        "l.updated_at") ") ORDER BY l.id), '[]') FROM locations l WHERE l.board_id = b.id)"

static const char *const board_cols[] = {
    "b.id",    "b.uuid",    "b.code",  "b.status",     "b.name",   "b.type",       "b.agent",
    "b.owner", "b.project", "b.fleet", "b.lr_version", "b.mobile", "b.created_at", "b.updated_at"};
static const char *const plugin_cols[] = {"p.id",     "p.uuid",     "p.name",       "p.owner",
                                          "p.public", "p.callable", "p.created_at", "p.updated_at"};
static const char *const service_cols[] = {"s.id",   "s.uuid",     "s.name",       "s.project",
                                           "s.port", "s.protocol", "s.created_at", "s.updated_at"};
static const char *const fleet_cols[] = {
    "f.id", "f.uuid", "f.name", "f.project", "f.description", "f.created_at", "f.updated_at"};
static const char *const webservice_cols[] = {"x.id",         "x.uuid",       "x.name",
                                              "x.port",       "x.board_uuid", "x.secure",
                                              "x.created_at", "x.updated_at"};
static const char *const enabledws_cols[] = {"x.id",         "x.board_uuid", "x.http_port",
                                             "x.https_port", "x.dns",        "x.zone",
                                             "x.created_at", "x.updated_at"};
static const char *const port_cols[] = {"x.id",       "x.uuid",       "x.board_uuid",
                                        "x.vif_name", "x.mac_add",    "x.ip",
                                        "x.network",  "x.created_at", "x.updated_at"};
static const char *const request_cols[] = {"r.id",
                                           "r.uuid",
                                           "r.destination_uuid",
                                           "r.main_request_uuid",
                                           "r.pending_requests",
                                           "r.status",
                                           "r.project",
                                           "r.type",
                                           "r.action",
                                           "r.created_at",
                                           "r.updated_at"};

#define BOARD_CHILD_WHERE "($3::uuid IS NULL OR x.board_uuid = $3::uuid)"

const struct api_sqlkind api_sqlkinds[AC_N] = {
    [AC_BOARDS] =
        {
            "board",
            &api_kind_board,
            "b",
            "b.uuid, b.code, b.status, b.name, b.type, b.agent, "
            "CASE WHEN b.agent IS NULL THEN NULL ELSE coalesce(w.wsurl, '') END, b.owner, "
            "(SELECT s.session_id FROM sessions s WHERE s.board_uuid = b.uuid AND s.valid LIMIT "
            "1), "
            "b.project, b.fleet, b.mobile, b.lr_version, b.connectivity::text, "
            "b.uuid, " BOARD_LOCATION ", b.extra::text, " BOARD_CONFIG
            ", " TS("b.created_at") ", " TS("b.updated_at") ", b.owner, b.project",
            "boards b LEFT JOIN wampagents w ON w.hostname = b.agent",
            "b.project",
            "($3::text IS NULL OR b.status = $3) "
            "AND ($4::uuid IS NULL OR b.fleet = $4::uuid)",
            2,
            PROJECT_VIS("b.project"),
            PROJECT_VIS("b.project"),
            "b.uuid",
            "b.name",
            board_cols,
        },
    [AC_PLUGINS] =
        {
            "plugin",
            &api_kind_plugin,
            "p",
            "p.uuid, p.name, p.code, p.public, p.owner, p.callable, p.parameters::text, p.uuid, "
            "p.extra::text, " TS("p.created_at") ", " TS("p.updated_at") ", p.owner, NULL::text",
            "plugins p",
            NULL,
            /* $3 with_public, $4 public only (/v1/plugins/public). */
            "(($4 AND p.public) OR (NOT $4 AND ($1 OR p.owner IS NOT DISTINCT FROM $2 OR "
            "($3 AND p.public))))",
            2,
            "(p.owner IS NOT DISTINCT FROM $3 OR p.public)",
            "p.owner IS NOT DISTINCT FROM $3",
            "p.uuid",
            "p.name",
            plugin_cols,
        },
    [AC_SERVICES] =
        {
            "service",
            &api_kind_service,
            "s",
            "s.uuid, s.name, s.project, s.port, s.protocol, s.extra::text, s.uuid, " TS(
                "s.created_at") ", " TS("s.updated_at") ", s.owner, s.project",
            "services s",
            "s.project",
            "true",
            0,
            PROJECT_VIS("s.project"),
            PROJECT_VIS("s.project"),
            "s.uuid",
            "s.name",
            service_cols,
        },
    [AC_FLEETS] =
        {
            "fleet",
            &api_kind_fleet,
            "f",
            "f.uuid, f.name, f.project, f.description, f.extra::text, f.uuid, " TS(
                "f.created_at") ", " TS("f.updated_at") ", f.owner, f.project",
            "fleets f",
            "f.project",
            "true",
            0,
            PROJECT_VIS("f.project"),
            PROJECT_VIS("f.project"),
            "f.uuid",
            "f.name",
            fleet_cols,
        },
    [AC_WEBSERVICES] =
        {
            "webservice",
            &api_kind_webservice,
            "x",
            "x.uuid, x.name, x.port, x.board_uuid, x.secure, x.extra::text, x.uuid, " TS(
                "x.created_at") ", " TS("x.updated_at") ", b.owner, b.project",
            "webservices x JOIN boards b ON b.uuid = x.board_uuid",
            "b.project",
            BOARD_CHILD_WHERE,
            1,
            PROJECT_VIS("b.project"),
            PROJECT_VIS("b.project"),
            "x.uuid",
            NULL,
            webservice_cols,
        },
    [AC_ENABLEDWS] =
        {
            "enabledws",
            &api_kind_enabledws,
            "x",
            "x.http_port, x.https_port, x.board_uuid, x.dns, x.zone, x.extra::text, " TS(
                "x.created_at") ", " TS("x.updated_at") ", b.owner, b.project",
            "enabled_webservices x JOIN boards b ON b.uuid = x.board_uuid",
            "b.project",
            BOARD_CHILD_WHERE,
            1,
            PROJECT_VIS("b.project"),
            PROJECT_VIS("b.project"),
            "x.board_uuid",
            NULL,
            enabledws_cols,
        },
    [AC_PORTS] =
        {
            "port",
            &api_kind_port,
            "x",
            "x.uuid, x.board_uuid, x.mac_add, x.vif_name, x.network, x.ip, x.uuid, " TS(
                "x.created_at") ", " TS("x.updated_at") ", b.owner, b.project",
            "ports_on_boards x JOIN boards b ON b.uuid = x.board_uuid",
            "b.project",
            BOARD_CHILD_WHERE,
            1,
            PROJECT_VIS("b.project"),
            PROJECT_VIS("b.project"),
            "x.uuid",
            NULL,
            port_cols,
        },
    [AC_REQUESTS] =
        {
            "request",
            &api_kind_request,
            "r",
            "r.uuid, r.destination_uuid, r.main_request_uuid, r.pending_requests, r.status, "
            "r.project, r.type, r.action, r.uuid, " TS("r.created_at") ", " TS(
                "r.updated_at") ", (SELECT d.owner FROM boards d WHERE d.uuid = "
                                "r.destination_uuid), r.project",
            "requests r",
            "r.project",
            "true",
            0,
            PROJECT_VIS("r.project"),
            PROJECT_VIS("r.project"),
            "r.uuid",
            NULL,
            request_cols,
        },
};
