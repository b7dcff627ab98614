#!/bin/bash
# devstack/plugin.sh: the DevStack plugin of IoTronic-C.
#
# DevStack sources this file as `plugin.sh <mode> [phase]` (stack with the
# phases pre-install, install, post-config, extra and test-config; unstack;
# clean). It builds and installs the C daemons with make, writes
# iotronic.conf and qinling.conf from DevStack's variables, creates and
# migrates the database with iotronic-dbsync, registers the Keystone services
# (type `iot` on 8812, `function-engine` on 7070) and runs every daemon with
# run_process, so they are systemd units devstack@<service>.service.
#
# Variables and their defaults: devstack/settings. Services: iotronic-api,
# iotronic-conductor, iotronic-wagent, qinling-api, qinling-engine.
#
# shellcheck shell=bash

# Save trace setting and keep this file quiet under `set -x`, as DevStack's
# own libraries do.
_XTRACE_IOTRONIC_C=$(set +o | grep xtrace)
set +o xtrace

IOTRONIC_C_SERVICES="iotronic-conductor iotronic-wagent iotronic-api qinling-engine qinling-api"

# True when any service of this plugin is enabled.
function is_iotronic_c_enabled {
    local svc
    for svc in $IOTRONIC_C_SERVICES; do
        is_service_enabled "$svc" && return 0
    done
    return 1
}

# ------------------------------------------------------------------ install

# install_iotronic_c: builds everything and installs it under IOTRONIC_C_PREFIX
# (binaries, migrations, sample configs and systemd units).
function install_iotronic_c {
    local jobs=$IOTRONIC_C_MAKE_JOBS
    if [[ "$jobs" == 0 ]]; then
        jobs=$(nproc)
    fi
    # DevStack installed devstack/files/debs/iotronic-c before this phase.
    make -C "$IOTRONIC_C_DIR" -j "$jobs" all
    sudo make -C "$IOTRONIC_C_DIR" install PREFIX="$IOTRONIC_C_PREFIX"
}

# ---------------------------------------------------------------- configure

# Sets the options of the token validation that IoTronic-C reads
# ([keystone_authtoken], iotronic-api-v1.md appendix A) for service user $2.
function _iotronic_c_authtoken {
    local conf=$1 user=$2
    iniset "$conf" keystone_authtoken www_authenticate_uri "$KEYSTONE_SERVICE_URI"
    iniset "$conf" keystone_authtoken auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$conf" keystone_authtoken auth_type password
    iniset "$conf" keystone_authtoken username "$user"
    iniset "$conf" keystone_authtoken password "$SERVICE_PASSWORD"
    iniset "$conf" keystone_authtoken project_name "$SERVICE_PROJECT_NAME"
    iniset "$conf" keystone_authtoken user_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$conf" keystone_authtoken project_domain_name "$SERVICE_DOMAIN_NAME"
    if [[ -n "$SSL_BUNDLE_FILE" ]]; then
        iniset "$conf" keystone_authtoken cafile "$SSL_BUNDLE_FILE"
    fi
}

# The address and port a daemon listens on: behind the TLS proxy, the
# internal port on loopback; otherwise the public port on every address.
function _iotronic_c_listen_host {
    if is_service_enabled tls-proxy; then
        echo "$SERVICE_LOCAL_HOST"
    else
        echo "$SERVICE_LISTEN_ADDRESS"
    fi
}

function _iotronic_c_log_level {
    if [[ "$ENABLE_DEBUG_LOG_LEVEL" == "True" ]]; then
        echo debug
    else
        echo info
    fi
}

# configure_iotronic: writes IOTRONIC_CONF for the API, conductor and wagent.
function configure_iotronic {
    local conf=$IOTRONIC_CONF api_port=$IOTRONIC_SERVICE_PORT
    if is_service_enabled tls-proxy; then
        api_port=$IOTRONIC_SERVICE_PORT_INT
    fi
    sudo install -d -o "$STACK_USER" -m 0755 "$IOTRONIC_CONF_DIR"
    rm -f "$conf"

    iniset "$conf" DEFAULT auth_strategy "$IOTRONIC_AUTH_STRATEGY"
    iniset "$conf" DEFAULT transport_url "$(get_transport_url)"
    iniset "$conf" DEFAULT host "$(hostname)"
    iniset "$conf" DEFAULT log_level "$(_iotronic_c_log_level)"

    iniset "$conf" api host_ip "$(_iotronic_c_listen_host)"
    iniset "$conf" api port "$api_port"
    iniset "$conf" api public_endpoint \
        "$IOTRONIC_SERVICE_PROTOCOL://$IOTRONIC_SERVICE_HOST:$IOTRONIC_SERVICE_PORT"
    iniset "$conf" api admin_listen "$SERVICE_LOCAL_HOST:$IOTRONIC_ADMIN_PORT"

    iniset "$conf" conductor service_port_min "$IOTRONIC_SERVICE_PORT_MIN"
    iniset "$conf" conductor service_port_max "$IOTRONIC_SERVICE_PORT_MAX"

    iniset "$conf" database connection "$(database_connection_url "$IOTRONIC_DB_NAME")"

    iniset "$conf" wamp wamp_transport_url "ws://$IOTRONIC_WAGENT_HOST:$IOTRONIC_WAGENT_PORT/"
    iniset "$conf" wamp wamp_realm "$IOTRONIC_WAMP_REALM"
    iniset "$conf" wamp register_agent true
    iniset "$conf" wagent listen "$SERVICE_LISTEN_ADDRESS:$IOTRONIC_WAGENT_PORT"
    iniset "$conf" wagent admin_listen "$SERVICE_LOCAL_HOST:$IOTRONIC_WAGENT_ADMIN_PORT"
    iniset "$conf" wstun listen "$SERVICE_LISTEN_ADDRESS:$IOTRONIC_WSTUN_PORT"
    iniset "$conf" wstun public_url "ws://$IOTRONIC_WAGENT_HOST:$IOTRONIC_WSTUN_PORT/"

    _iotronic_c_authtoken "$conf" iotronic
    _iotronic_c_policy "$IOTRONIC_POLICY_FILE"
    iniset "$conf" oslo_policy policy_file "$IOTRONIC_POLICY_FILE"
}

# Installs an empty rule-override file (the rules are in the code; an
# operator adds overrides there) unless one is already in place.
function _iotronic_c_policy {
    local file=$1
    if [[ ! -f "$file" ]]; then
        install -m 0644 "$IOTRONIC_C_DIR/etc/iotronic/policy.json.sample" "$file"
    fi
}

# The board-token secret: QINLING_BOARD_TOKEN_SECRET, else the one already in
# QINLING_CONF (so that a re-stack keeps tokens valid), else a new one.
function _qinling_board_token_secret {
    local secret=$QINLING_BOARD_TOKEN_SECRET
    if [[ -z "$secret" && -f "$QINLING_CONF" ]]; then
        secret=$(iniget "$QINLING_CONF" engine board_token_secret)
    fi
    if [[ -z "$secret" ]]; then
        secret=$(openssl rand -hex 32)
    fi
    echo "$secret"
}

# configure_qinling: writes QINLING_CONF for qinling-api and qinling-engine.
function configure_qinling {
    local conf=$QINLING_CONF api_port=$QINLING_SERVICE_PORT secret
    local base="$QINLING_SERVICE_PROTOCOL://$QINLING_SERVICE_HOST:$QINLING_SERVICE_PORT"
    if is_service_enabled tls-proxy; then
        api_port=$QINLING_SERVICE_PORT_INT
    fi
    secret=$(_qinling_board_token_secret)
    sudo install -d -o "$STACK_USER" -m 0755 "$QINLING_CONF_DIR"
    sudo install -d -o "$STACK_USER" -m 0750 "$QINLING_STORAGE_DIR"
    rm -f "$conf"
    # The file holds the board-token secret and the service password.
    install -m 0640 /dev/null "$conf"

    iniset "$conf" DEFAULT auth_strategy "$IOTRONIC_AUTH_STRATEGY"
    iniset "$conf" DEFAULT transport_url "$(get_transport_url)"
    iniset "$conf" DEFAULT qinling_endpoint "$base"
    iniset "$conf" DEFAULT log_level "$(_iotronic_c_log_level)"

    iniset "$conf" api host "$(_iotronic_c_listen_host)"
    iniset "$conf" api port "$api_port"
    iniset "$conf" api admin_listen "$SERVICE_LOCAL_HOST:$QINLING_API_ADMIN_PORT"

    iniset "$conf" database connection "$(database_connection_url "$IOTRONIC_DB_NAME")"
    iniset "$conf" storage file_system_dir "$QINLING_STORAGE_DIR"

    iniset "$conf" engine board_token_secret "$secret"
    iniset "$conf" engine board_download_url "$base"
    iniset "$conf" engine admin_listen "$SERVICE_LOCAL_HOST:$QINLING_ENGINE_ADMIN_PORT"

    _iotronic_c_authtoken "$conf" qinling
    _iotronic_c_policy "$QINLING_POLICY_FILE"
    iniset "$conf" oslo_policy policy_file "$QINLING_POLICY_FILE"
}

# create_iotronic_c_accounts: service users, services and endpoints.
function create_iotronic_c_accounts {
    if is_service_enabled iotronic-api; then
        create_service_user iotronic admin
        get_or_create_service iotronic iot "IoT boards, plugins and services (IoTronic-C)"
        get_or_create_endpoint iot "$REGION_NAME" \
            "$IOTRONIC_SERVICE_PROTOCOL://$IOTRONIC_SERVICE_HOST:$IOTRONIC_SERVICE_PORT"
    fi
    if is_service_enabled qinling-api; then
        create_service_user qinling admin
        get_or_create_service qinling function-engine "Deviceless functions (IoTronic-C)"
        get_or_create_endpoint function-engine "$REGION_NAME" \
            "$QINLING_SERVICE_PROTOCOL://$QINLING_SERVICE_HOST:$QINLING_SERVICE_PORT"
    fi
}

# ---------------------------------------------------------------- init/start

# init_iotronic_c: (re)creates the database and applies every migration; the
# deviceless tables live in the same database.
function init_iotronic_c {
    recreate_database "$IOTRONIC_DB_NAME"
    "$IOTRONIC_C_BIN_DIR/iotronic-dbsync" --config-file "$IOTRONIC_CONF" upgrade
}

function start_iotronic_c {
    local bin=$IOTRONIC_C_BIN_DIR
    run_process iotronic-conductor "$bin/iotronic-conductor --config-file $IOTRONIC_CONF"
    run_process iotronic-wagent "$bin/iotronic-wagent --config-file $IOTRONIC_CONF"
    run_process iotronic-api "$bin/iotronic-api --config-file $IOTRONIC_CONF"
    run_process qinling-engine "$bin/qinling-engine --config-file $QINLING_CONF"
    run_process qinling-api "$bin/qinling-api --config-file $QINLING_CONF"

    if is_service_enabled tls-proxy; then
        if is_service_enabled iotronic-api; then
            start_tls_proxy iotronic-api '*' "$IOTRONIC_SERVICE_PORT" \
                "$SERVICE_LOCAL_HOST" "$IOTRONIC_SERVICE_PORT_INT"
        fi
        if is_service_enabled qinling-api; then
            start_tls_proxy qinling-api '*' "$QINLING_SERVICE_PORT" \
                "$SERVICE_LOCAL_HOST" "$QINLING_SERVICE_PORT_INT"
        fi
    fi
    _iotronic_c_wait_api iotronic-api "$SERVICE_LOCAL_HOST" "$IOTRONIC_SERVICE_PORT"
    _iotronic_c_wait_api qinling-api "$SERVICE_LOCAL_HOST" "$QINLING_SERVICE_PORT"
}

# Waits for the root document of an API ($SERVICE_TIMEOUT seconds), as
# DevStack's wait_for_service does for the projects it knows.
function _iotronic_c_wait_api {
    local svc=$1 host=$2 port=$3 scheme=http
    is_service_enabled "$svc" || return 0
    if is_service_enabled tls-proxy; then
        scheme=https
    fi
    if ! wait_for_service "$SERVICE_TIMEOUT" "$scheme://$host:$port/"; then
        die "$LINENO" "$svc did not start"
    fi
}

function stop_iotronic_c {
    local svc
    for svc in $IOTRONIC_C_SERVICES; do
        stop_process "$svc"
    done
}

# ------------------------------------------------------------------ runtimes

# Uploads the busybox and python3 runtimes (tools/build-runtimes.sh) through
# the deviceless API as the DevStack admin: POST /v1/runtimes, then
# PUT /v1/runtimes/<id>/image with the archive (deviceless-api.md 3.2).
function create_qinling_runtimes {
    local base="$QINLING_SERVICE_PROTOCOL://$QINLING_SERVICE_HOST:$QINLING_SERVICE_PORT"
    local token name id sha
    "$IOTRONIC_C_DIR/tools/build-runtimes.sh" "$QINLING_RUNTIMES_DIR"
    token=$(openstack --os-cloud devstack-admin token issue -f value -c id)
    for name in busybox python3; do
        sha=$(sha256sum "$QINLING_RUNTIMES_DIR/$name.tar.gz" | cut -d' ' -f1)
        id=$(curl -fsS -X POST "$base/v1/runtimes" -H "X-Auth-Token: $token" \
            -H "Content-Type: application/json" \
            -d "{\"name\": \"$name\", \"image\": \"$name\", \"is_public\": true}" |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
        curl -fsS -X PUT "$base/v1/runtimes/$id/image?sha256=$sha" -H "X-Auth-Token: $token" \
            -H "Content-Type: application/gzip" \
            --data-binary "@$QINLING_RUNTIMES_DIR/$name.tar.gz" >/dev/null
        echo "runtime $name: $id"
    done
}

# ------------------------------------------------------------------ cleanup

function cleanup_iotronic_c {
    sudo rm -rf "$IOTRONIC_CONF_DIR" "$QINLING_CONF_DIR" "$QINLING_STORAGE_DIR" \
        "$QINLING_RUNTIMES_DIR"
}

# ------------------------------------------------------------------ dispatch

if is_iotronic_c_enabled; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing IoTronic-C"
        install_iotronic_c
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring IoTronic-C"
        configure_iotronic
        configure_qinling
        if is_service_enabled keystone; then
            create_iotronic_c_accounts
        fi
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initializing and starting IoTronic-C"
        init_iotronic_c
        start_iotronic_c
        if [[ "$QINLING_CREATE_RUNTIMES" == "True" ]] && is_service_enabled qinling-api; then
            create_qinling_runtimes
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_iotronic_c
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_iotronic_c
    fi
fi

# Restore xtrace
$_XTRACE_IOTRONIC_C
