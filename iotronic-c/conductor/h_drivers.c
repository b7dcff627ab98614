/* conductor/h_drivers.c: the optional Neutron (board ports) and
 * Designate/nginx (webservices) drivers (iotronic-api-v1.md 2.5, 2.6, 2.10,
 * 2.14.5). This conductor implements the driver-absent behaviour: without
 * [neutron] url / [designate] url every write answers the contract's 409 at
 * step 9 of the order of checks, before any board state is looked at. With
 * a url configured the drivers themselves are not built yet, and the write
 * answers 502 "<Neutron|DNS> request failed: driver not available in this
 * build" rather than pretending to have done something. */
#include "api/fault.h"
#include "conductor/handlers.h"

static void driver_write(struct mq_req *req, const char *url, const char *absent,
                         const char *failed)
{
    struct error err = {0};

    if (url == NULL || url[0] == '\0')
        api_fail(&err, 409, "%s", absent);
    else
        api_fail(&err, 502, "%s request failed: driver not available in this build", failed);
    cond_reply_error(req, &err, NULL);
}

void cond_h_port_write(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;

    (void)args;
    driver_write(req, c->cfg.neutron_url,
                 "Board ports are not available: no Neutron driver is configured.", "Neutron");
}

void cond_h_webservice_write(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;

    (void)args;
    driver_write(req, c->cfg.designate_url,
                 "Webservices are not available: no Designate/nginx driver is configured.", "DNS");
}
