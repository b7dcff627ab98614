/* common/stallwatch.h: may a liveness checker judge others right now?
 *
 * Wagents and conductors declare a wagent dead when its heartbeat is older
 * than agent_timeout (board-protocol.md 7.3). That judgement is only fair if
 * the judged wagent could have beaten during that window. When the database
 * stalls (a long lock, a failover, this process suspended), every wagent's
 * beat waits too, and the first checker to get through afterwards would see
 * all the others' heartbeats old and declare them all dead: every board of
 * the city reconnects at once. A checker therefore watches its own checks:
 * they complete every `period`; a gap of more than two periods between two
 * completions is a stall, and for `window` (agent_timeout) after a stall the
 * checker does not judge: the others get the same window to beat again.
 * The checker's start counts as a completed check, so a first check that
 * hangs is a stall too; a checker that never stalled judges from its first
 * check.
 *
 * Plain data, one owner (the checker's loop or thread); times are monotonic
 * microseconds (time_mono_us()). */
#ifndef IOT_COMMON_STALLWATCH_H
#define IOT_COMMON_STALLWATCH_H

#include <stdint.h>

struct stall_watch {
    int64_t period_us;      /* how often checks complete when all is well */
    int64_t window_us;      /* how long a stall keeps the checker from judging */
    int64_t last_done_us;   /* the previous check's completion, or the start */
    int64_t stall_end_us;   /* the end of the last stall seen; 0 if none */
};

/* period_s: the checks' interval; window_s: agent_timeout; now_us: the
 * checker's start (monotonic µs), which counts as a completed check. */
void stall_watch_init(struct stall_watch *sw, int64_t period_s, int64_t window_s, int64_t now_us);

/* Records that a check completed at now_us (monotonic µs). */
void stall_watch_done(struct stall_watch *sw, int64_t now_us);

/* Whether a check starting at now_us may declare others dead. */
int stall_watch_may_judge(const struct stall_watch *sw, int64_t now_us);

#endif
