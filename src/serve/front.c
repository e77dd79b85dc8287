/* The front address spreads clients over every device's scheduler: a
 * request naming an asset is redirected to a device's own RTSP port, whose
 * scheduler then owns the session (named by its own data address with
 * --data-net, data_net.c).  Clients are dealt in arrival order, as
 * the simulation deals its virtual clients (dsend_workload_scheduler). */
#include "dsend/workload.h"
#include "serve/serve_internal.h"

#include <stdio.h>
#include <string.h>

static const char public_methods[] =
    "Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER\r\n";

void serve_handle_front(serve_world *w, conn *c, const dsend_rtsp_request *r)
{
    char name[DSEND_NAME_MAX + 2], h[1024], host[DSEND_NETADDR_STRLEN];
    if (strcmp(r->method, "OPTIONS") == 0) {
        serve_reply(c, 200, r->cseq, public_methods, NULL);
        return;
    }
    if (dsend_rtsp_url_asset(r->url, name, sizeof name) != 0 ||
        dsend_library_find(&w->lib, name) < 0) {
        serve_reply(c, 404, r->cseq, NULL, NULL);
        return;
    }
    if (r->session[0]) {
        /* a session's control after its device died: to the device that
         * holds the session now (its deputy), or back to its own */
        int64_t client = serve_session_client(r->session);
        int owner = client >= 0 ? (int)(client >> 16) : -1;
        if (owner < 0 || owner >= w->size) {
            serve_reply(c, 454, r->cseq, NULL, NULL);
            return;
        }
        int d = w->dev.health.dead[owner]
                    ? dsend_health_deputy(&w->dev.health, (uint32_t)client, owner)
                    : owner;
        if (d < 0) {
            serve_reply(c, 454, r->cseq, NULL, NULL);
            return;
        }
        snprintf(h, sizeof h, "Location: rtsp://%s:%d/%s\r\n",
                 serve_device_host(w, c, d, host, sizeof host), w->cfg->port + 1 + d, name);
        serve_reply(c, 302, r->cseq, h, NULL);
        return;
    }
    /* dealt as sim deals them; a device taken for dead is passed over */
    uint32_t d = dsend_workload_scheduler(w->next_device++, (uint32_t)w->size);
    for (int k = 0; k < w->size && w->dev.health.dead[d]; k++)
        d = (d + 1) % (uint32_t)w->size;
    snprintf(h, sizeof h, "Location: rtsp://%s:%d/%s\r\n",
             serve_device_host(w, c, (int)d, host, sizeof host), w->cfg->port + 1 + (int)d, name);
    serve_reply(c, 302, r->cseq, h, NULL);
}
