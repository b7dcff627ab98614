/* qapi/handlers.h: the handlers of qinling-api's routes (qapi/routes.c).
 * Each answers one route of deviceless-api.md section 2 (and the blob
 * download of 3.5.2) on a worker thread; qa_h_root and qa_h_v1 run inline
 * on the loop. */
#ifndef QA_HANDLERS_H
#define QA_HANDLERS_H

#include "http/request.h"

#define QA_HANDLER(name) void qa_h_##name(struct http_req *r)

QA_HANDLER(root);
QA_HANDLER(v1);

QA_HANDLER(runtimes_list);
QA_HANDLER(runtime_create);
QA_HANDLER(runtime_get);
QA_HANDLER(runtime_update);
QA_HANDLER(runtime_delete);
QA_HANDLER(runtime_upload);
QA_HANDLER(runtime_download);
QA_HANDLER(runtime_pool);

QA_HANDLER(functions_list);
QA_HANDLER(function_create);
QA_HANDLER(function_get);
QA_HANDLER(function_update);
QA_HANDLER(function_delete);
QA_HANDLER(function_scale_up);
QA_HANDLER(function_scale_down);
QA_HANDLER(function_detach);
QA_HANDLER(function_workers);

QA_HANDLER(versions_list);
QA_HANDLER(version_create);
QA_HANDLER(version_get);
QA_HANDLER(version_delete);
QA_HANDLER(version_scale_up);
QA_HANDLER(version_scale_down);
QA_HANDLER(version_detach);

QA_HANDLER(aliases_list);
QA_HANDLER(alias_create);
QA_HANDLER(alias_get);
QA_HANDLER(alias_update);
QA_HANDLER(alias_delete);

QA_HANDLER(executions_list);
QA_HANDLER(execution_create);
QA_HANDLER(execution_get);
QA_HANDLER(execution_delete);
QA_HANDLER(execution_log);

QA_HANDLER(jobs_list);
QA_HANDLER(job_create);
QA_HANDLER(job_get);
QA_HANDLER(job_update);
QA_HANDLER(job_delete);

QA_HANDLER(webhooks_list);
QA_HANDLER(webhook_create);
QA_HANDLER(webhook_get);
QA_HANDLER(webhook_update);
QA_HANDLER(webhook_delete);
QA_HANDLER(webhook_invoke);

QA_HANDLER(blob_get);

#endif
