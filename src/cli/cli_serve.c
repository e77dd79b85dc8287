/* dsend serve and dsend clients: the command-line side of the served world. */
#include "cli/cli.h"
#include "dsend/clients.h"
#include "dsend/dsend.h"
#include "dsend/serve.h"
#include "util/netaddr.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* The run's configuration as "name = value" lines (printed, and stored in
 * results files). */
static char *config_lines(const dsend_cli *c)
{
    char *conf = NULL;
    size_t n = 0;
    FILE *cf = open_memstream(&conf, &n);
    if (!cf)
        return NULL;
    dsend_options_print(c->cmd, c->cfg, cf, "");
    fclose(cf);
    return conf;
}

/* HOST:PORT of --NAME: an IPv4 address or a bracketed IPv6 one and a port
 * with room for PORT+span; host gets the address alone ("::1") */
static int host_port(const char *name, const char *v, char *host, size_t n, long *port, int span)
{
    dsend_netaddr a;
    if (dsend_netaddr_parse(v, &a) != 0 || !a.port || a.port + span > 65535)
        return dsend_seterr(DSEND_EINVAL, "--%s %s: want HOST:PORT (an IPv4 address, or an "
                                          "IPv6 one in brackets, and a port%s)",
                            name, v, span ? " with room for PORT+devices" : "");
    dsend_netaddr_host(&a, host, n);
    *port = a.port;
    return 0;
}

int dsend_cmd_serve(dsend_cli *c)
{
    const dsend_config *g = c->cfg;
    if (g->npos != 1)
        return dsend_seterr(DSEND_EINVAL, "%s (see dsend serve --help)",
                            g->npos ? "one library, please" : "missing LIB.h5");
    char host[64], mhost[64] = "";
    long port = 0, mport = 0;
    int rc = host_port("rtsp", g->rtsp, host, sizeof host, &port, c->size);
    if (rc == 0 && g->metrics)
        rc = host_port("metrics", g->metrics, mhost, sizeof mhost, &mport, 0);
    if (rc)
        return rc;
    /* it goes into headers: a host name or an address (IPv6 in brackets
     * there, "::1" or "[::1]" here), nothing else */
    dsend_netaddr adv;
    char advertise[DSEND_NETADDR_STRLEN];
    const char *adv_host = g->advertise;
    if (g->advertise && dsend_netaddr_parse(g->advertise, &adv) == 0 && !adv.port)
        adv_host = dsend_netaddr_url_host(&adv, advertise, sizeof advertise);
    else if (g->advertise && (!*g->advertise || strlen(g->advertise) > 253 ||
                              strspn(g->advertise, "abcdefghijklmnopqrstuvwxyz"
                                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                                  strlen(g->advertise)))
        return dsend_seterr(DSEND_EINVAL, "--advertise %s: want a host name or an address",
                            g->advertise);
    struct in_addr net, mask;
    if (g->data_net && dsend_data_net_parse(g->data_net, &net, &mask) != 0)
        return dsend_seterr(DSEND_EINVAL, "--data-net %s: want an IPv4 network, A.B.C.D/BITS",
                            g->data_net);
    if (g->data_net && g->advertise)
        return dsend_seterr(DSEND_EINVAL, "--advertise with --data-net: each device is named by "
                                          "its own data address; give one of them");
    dsend_netaddr src;
    if (g->rtp_source && (dsend_netaddr_parse(g->rtp_source, &src) != 0 || src.port != 0 ||
                          dsend_netaddr_is_any(&src)))
        return dsend_seterr(DSEND_EINVAL, "--rtp-source %s: want one address (IPv4 or IPv6), no port",
                            g->rtp_source);
    if (g->replicas > c->size)
        return dsend_seterr(DSEND_EINVAL, "--replicas %lld: must not exceed the %d devices",
                            (long long)g->replicas, c->size);
    if (g->interval <= 0)
        return dsend_seterr(DSEND_EINVAL, "--interval must be > 0");
    dsend_serve_config s = {
        .library = g->pos[0],
        .host = host,
        .advertise = adv_host,
        .port = (int)port,
        .udp_port = (int)g->udp_port,
        .data_net = g->data_net,
        .rtp_source = g->rtp_source,
        .startup = g->startup,
        .lead = g->lead,
        .tick = g->tick,
        .pace_lead = g->pace_lead,
        .pace_batch = g->pace_batch,
        .pace_burst = g->pace_burst,
        .sub_block = g->sub_block,
        .nic_bps = g->nic,
        .interval = g->interval,
        .session_timeout = g->session_timeout,
        .duration = g->serve_duration,
        .max_sessions = (int)g->max_sessions,
        .max_peer_sessions = (int)g->max_peer_sessions,
        .max_conns = (int)g->max_conns,
        .max_peer_conns = (int)g->max_peer_conns,
        .conn_timeout = g->conn_timeout,
        .request_timeout = g->request_timeout,
        .layout = g->layout,
        .replicas = (int)g->replicas,
        .heartbeat = g->heartbeat,
        .detect = g->detect,
        .fail = g->fail,
        .admission = g->admission && strcmp(g->admission, "on") == 0,
        .admit_load = g->admit_load,
        .ram = g->ram,
        .ram_share = g->ram_share,
        .look_ahead = g->look_ahead,
        .seed = (uint64_t)g->seed,
        .metrics_host = g->metrics ? mhost : NULL,
        .metrics_port = (int)mport,
        .status_interval = g->status_interval,
        .session_log = g->session_log,
        .quiet = g->quiet,
        .json = g->json,
    };
    if (c->rank == 0 && !g->quiet && !g->json) {
        fprintf(c->out, "# dsend serve %s on %d devices\n", g->pos[0], c->size);
        dsend_options_print(c->cmd, g, c->out, "#   ");
        fflush(c->out);
    }
    dsend_sim_result r;
    rc = dsend_serve_run(c->comm, &s, c->out, &r);
    /* the results are the coordinator's (rank 0, or the lowest that lived) */
    if (rc == 0 && r.kind && g->output) {
        char *conf = config_lines(c);
        dsend_sim_config sc = {.seed = (uint64_t)g->seed, .interval = g->interval,
                               .nic_bps = g->nic};
        rc = dsend_sim_write(g->output, &sc, &r, conf, c->argc, c->argv, 0);
        if (rc == 0 && !g->quiet && !g->json)
            fprintf(c->out, "results written to %s\n", g->output);
        free(conf);
    }
    dsend_sim_result_free(&r);
    /* no collective over every rank here: a device may have died (the
     * survivors agreed on the statistics among themselves); each rank's
     * status is its own */
    return rc;
}

int dsend_cmd_clients(dsend_cli *c)
{
    const dsend_config *g = c->cfg;
    if (g->npos != 1)
        return dsend_seterr(DSEND_EINVAL, "%s (see dsend clients --help)",
                            g->npos ? "one URL, please" : "missing rtsp://HOST:PORT/[ASSET]");
    if (!g->library)
        return dsend_seterr(DSEND_EINVAL, "missing --library LIB.h5 (the library served)");
    dsend_sim_config sc;
    dsend_cli_sim_config(c, &sc); /* the workload options, read as sim reads them */
    dsend_clients_config k = {.url = g->pos[0], .library = g->library,
                              .wl = dsend_sim_workload(&sc), .prebuffer = g->prebuffer,
                              .start_at = g->start_at, .duration = g->serve_duration,
                              .give_up = g->give_up};
    dsend_sim_result r;
    int rc = dsend_clients_run(&k, &r, g->quiet || g->json ? NULL : c->out);
    if (rc)
        return rc;
    sc.interval = 1000000000;
    sc.nic_bps = 1;
    if (g->json)
        dsend_sim_json(&sc, &r, c->out);
    else if (!g->quiet)
        dsend_sim_summary(&sc, &r, c->out);
    if (g->output) {
        char *conf = config_lines(c);
        rc = dsend_sim_write(g->output, &sc, &r, conf, c->argc, c->argv, 0);
        free(conf);
    }
    dsend_sim_result_free(&r);
    return rc;
}
