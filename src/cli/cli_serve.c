/* dsend serve: the command-line side of the production runtime. */
#include "cli/cli.h"
#include "dsend/dsend.h"
#include "dsend/clients.h"
#include "dsend/serve.h"

#include <stdlib.h>
#include <string.h>

int dsend_cmd_serve(dsend_cli *c)
{
    const dsend_config *g = c->cfg;
    if (g->npos != 1)
        return dsend_seterr(DSEND_EINVAL, "%s (see dsend serve --help)",
                            g->npos ? "one library, please" : "missing LIB.h5");
    char host[64];
    const char *colon = strrchr(g->rtsp, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == g->rtsp || (size_t)(colon - g->rtsp) >= sizeof host || !end || *end ||
        port < 1 || port + c->size > 65535)
        return dsend_seterr(DSEND_EINVAL, "--rtsp %s: want HOST:PORT (an IPv4 address and a "
                                          "port with room for PORT+%d)",
                            g->rtsp, c->size);
    snprintf(host, sizeof host, "%.*s", (int)(colon - g->rtsp), g->rtsp);
    if (g->replicas > c->size)
        return dsend_seterr(DSEND_EINVAL, "--replicas %lld: must not exceed the %d devices",
                            (long long)g->replicas, c->size);
    dsend_serve_config s = {
        .library = g->pos[0],
        .host = host,
        .port = (int)port,
        .udp_port = (int)g->udp_port,
        .startup = g->startup,
        .lead = g->lead,
        .tick = g->tick,
        .pace_lead = g->pace_lead,
        .sub_block = g->sub_block,
        .nic_bps = g->nic,
        .session_timeout = g->session_timeout,
        .duration = g->serve_duration,
        .max_sessions = (int)g->max_sessions,
        .max_peer_sessions = (int)g->max_peer_sessions,
        .layout = g->layout,
        .replicas = (int)g->replicas,
        .seed = (uint64_t)g->seed,
        .quiet = g->quiet,
    };
    if (c->rank == 0 && !g->quiet) {
        fprintf(c->out, "# dsend serve %s on %d devices\n", g->pos[0], c->size);
        dsend_options_print(c->cmd, g, c->out, "#   ");
        fflush(c->out);
    }
    return dsend_serve_run(c->comm, &s, c->out);
}

int dsend_cmd_clients(dsend_cli *c)
{
    const dsend_config *g = c->cfg;
    if (g->npos != 1)
        return dsend_seterr(DSEND_EINVAL, "%s (see dsend clients --help)",
                            g->npos ? "one URL, please" : "missing rtsp://HOST:PORT/ASSET");
    if (!g->library)
        return dsend_seterr(DSEND_EINVAL, "missing --library LIB.h5 (the library served)");
    dsend_clients_config k = {.url = g->pos[0], .library = g->library, .sessions = (int)g->sessions,
                              .duration = g->serve_duration, .seek = g->seek,
                              .pause_at = g->pause_at, .pause_for = g->pause_for};
    dsend_sim_result r;
    int rc = dsend_clients_run(&k, &r, g->quiet || g->json ? NULL : c->out);
    if (rc)
        return rc;
    dsend_sim_config s = {.seed = 0, .interval = 1000000000, .nic_bps = 1};
    if (g->json)
        dsend_sim_json(&s, &r, c->out);
    else if (!g->quiet)
        dsend_sim_summary(&s, &r, c->out);
    if (g->output) {
        char *conf = NULL;
        size_t n = 0;
        FILE *cf = open_memstream(&conf, &n);
        if (cf) {
            dsend_options_print(c->cmd, g, cf, "");
            fclose(cf);
        }
        rc = dsend_sim_write(g->output, &s, &r, conf, c->argc, c->argv, 0);
        free(conf);
    }
    dsend_sim_result_free(&r);
    return rc;
}
