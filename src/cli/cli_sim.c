/* dsend sim: the command-line side of the simulation. */
#include "cli/cli.h"
#include "dsend/dsend.h"
#include "dsend/report.h"
#include "dsend/sim.h"

#include <stdlib.h>
#include <string.h>

void dsend_cli_sim_config(const dsend_cli *c, dsend_sim_config *out)
{
    const dsend_config *g = c->cfg;
    dsend_sim_config s = {
        .library = g->npos ? g->pos[0] : g->library,
        .client_ranks = (int)g->client_ranks,
        .devices = (int)g->devices,
        .clients = g->clients,
        .asset = g->asset,
        .zipf = g->zipf,
        .arrival = strcmp(g->arrival, "all") == 0       ? DSEND_ARRIVAL_ALL
                   : strcmp(g->arrival, "poisson") == 0 ? DSEND_ARRIVAL_POISSON
                                                        : DSEND_ARRIVAL_STAGGERED,
        .arrival_window = g->arrival_window,
        .arrival_rate = g->arrival_rate,
        .session_min = g->session_min,
        .session_max = g->session_max,
        .pause_prob = g->pause_prob,
        .pause_min = g->pause_min,
        .pause_max = g->pause_max,
        .seek_prob = g->seek_prob,
        .startup = g->startup,
        .lead = g->lead,
        .tick = g->tick,
        .pace_lead = g->pace_lead,
        .pace_batch = g->pace_batch,
        .pace_burst = g->pace_burst,
        .prebuffer = g->prebuffer,
        .sub_block = g->sub_block,
        .nic_bps = g->nic,
        .client_bps = g->client_link,
        .ctrl_latency = g->ctrl_latency,
        .data_latency = g->data_latency,
        .lookahead = g->lookahead,
        .loss = g->loss,
        .jitter = g->jitter,
        .interval = g->interval,
        .until = g->until,
        .layout = g->layout,
        .replicas = (int)g->replicas,
        .heartbeat = g->heartbeat,
        .detect = g->detect,
        .fail = g->fail,
        .recover = g->recover,
        .admission = g->admission && strcmp(g->admission, "on") == 0,
        .admit_load = g->admit_load,
        .ram = g->ram,
        .ram_share = g->ram_share,
        .look_ahead = g->look_ahead,
        .disk_bps = g->disk_rate,
        .disk_latency = g->disk_latency,
        .seed = (uint64_t)g->seed,
        .trace = g->trace,
        .progress = !g->quiet,
    };
    *out = s;
}

int dsend_cmd_sim(dsend_cli *c)
{
    dsend_config like = *c->cfg;
    const dsend_config *g = &like;
    char **keep = NULL;
    size_t nkeep = 0;
    int rc = 0;
    if (like.like && (rc = dsend_cli_like(c, &like, &keep, &nkeep)))
        goto out;
    if (g->npos > 1 || (g->npos == 0 && !g->library)) {
        rc = dsend_seterr(DSEND_EINVAL, g->npos ? "unexpected argument '%.80s' (see dsend sim --help)"
                                                : "missing LIB.h5 (see dsend sim --help)",
                          g->npos ? g->pos[1] : "");
        goto out;
    }
    dsend_cli lc = *c;
    lc.cfg = g;
    c = &lc;
    dsend_sim_config s;
    dsend_cli_sim_config(c, &s);
    /* the run's configuration, printed with its results and stored in the file */
    char *conf = NULL;
    size_t conflen = 0;
    FILE *cf = open_memstream(&conf, &conflen);
    if (!cf) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto out;
    }
    dsend_options_print(c->cmd, g, cf, "");
    fclose(cf);
    if (c->rank == 0 && !g->quiet && !g->json) {
        fprintf(c->out, "# dsend sim %s on %d ranks%s%s\n", s.library, c->size,
                g->like ? ", like " : "", g->like ? g->like : "");
        for (char *p = conf; *p;) {
            char *nl = strchr(p, '\n');
            fprintf(c->out, "#   %.*s\n", (int)(nl ? nl - p : (long)strlen(p)), p);
            p = nl ? nl + 1 : p + strlen(p);
        }
        fflush(c->out);
    }
    dsend_sim_result r;
    rc = dsend_sim_run(c->comm, &s, &r);
    if (rc == 0 && c->rank == 0) {
        if (g->json)
            dsend_sim_json(&s, &r, c->out);
        else if (!g->quiet)
            dsend_sim_summary(&s, &r, c->out);
        if (g->output) {
            rc = dsend_sim_write(g->output, &s, &r, conf, c->argc, c->argv, 0);
            if (rc == 0 && !g->quiet && !g->json)
                fprintf(c->out, "results written to %s\n", g->output);
        }
        dsend_sim_result_free(&r);
    }
    free(conf);
out:
    for (size_t i = 0; i < nkeep; i++)
        free(keep[i]);
    free(keep);
    return dsend_mpi_agree(c->comm, rc);
}

int dsend_cmd_plan(dsend_cli *c)
{
    const dsend_config *g = c->cfg;
    if (g->npos != 1)
        return dsend_seterr(DSEND_EINVAL, "%s (see dsend plan --help)",
                            g->npos ? "one library, please" : "missing LIB.h5");
    dsend_sla sla;
    int rc = dsend_sla_parse(g->sla, &sla);
    if (rc)
        return rc;
    dsend_sim_config s;
    dsend_cli_sim_config(c, &s);
    s.progress = 0;
    if (c->rank == 0 && !g->quiet && !g->json) {
        fprintf(c->out, "# dsend plan %s on %d ranks, SLA %s\n", g->pos[0], c->size, g->sla);
        dsend_options_print(c->cmd, g, c->out, "#   ");
        fflush(c->out);
    }
    if (g->find && strcmp(g->find, "ram") == 0) {
        uint64_t ram = 0;
        return dsend_plan_ram(c->comm, &s, &sla, g->output, c->out, &ram);
    }
    int64_t cap = 0;
    return dsend_plan(c->comm, &s, &sla, g->output, c->out, g->json, &cap);
}

int dsend_cmd_report(dsend_cli *c)
{
    const dsend_config *g = c->cfg;
    if (g->npos < 1)
        return dsend_seterr(DSEND_EINVAL, "missing RUN.h5 (see dsend report --help)");
    if (!g->output)
        return dsend_seterr(DSEND_EINVAL, "missing -o DIR (the report directory)");
    return dsend_report(g->pos, g->npos, g->output, g->force, c->out);
}
