/* qmodel/sql.h: SQL text fragments shared by the service's statements.
 *
 * Timestamps leave PostgreSQL already in the contract's forms (1.5), so the
 * rows can be written out without parsing: Qinling's whole-second "Z" form
 * for the fields Qinling has, and six fractional digits for timing fields.
 * The session time zone is UTC (db.h), so AT TIME ZONE 'UTC' is exact. */
#ifndef QM_SQL_H
#define QM_SQL_H

#define QM_TS(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define QM_TS_US(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* The NOTIFY channel of terminal executions (3.6). */
#define QM_NOTIFY_CHANNEL "qinling_executions"

/* AMQP: the engine's durable queues (3.6) and the board events exchange
 * (board-protocol.md 7.4) with the engine's queue bound to it. */
#define QM_ENGINE_QUEUE "qinling_engine"
#define QM_EVENTS_QUEUE "qinling_engine_events"
#define QM_BOARD_EVENTS_EXCHANGE "iotronic.board_events"
#define QM_BOARD_EVENTS_QUEUE "qinling_engine_board_events"
#define QM_WAGENT_QUEUE_PREFIX "wagent."

#endif
