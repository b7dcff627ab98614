/* qapi/runtime.h: helpers shared by the runtime handlers. Worker threads. */
#ifndef QA_RUNTIME_H
#define QA_RUNTIME_H

#include "qapi/call.h"

/* Answers the runtime id (in the caller's scope: own, public, or any for
 * admins) with status, or 404 "Runtime not found [id=<id>]". 0, or -1 when
 * the read failed (answered). */
int qa_runtime_answer(struct qa_call *c, const char *id, int status);

#endif
