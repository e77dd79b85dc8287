/* dsend_main: parse the command line once on every rank, run the command,
 * print one error line on everybody's behalf. */
#include "config.h"
#include "cli/cli.h"
#include "dsend/dsend.h"

#include <hdf5.h>

#include <string.h>

static const dsend_command_def commands[] = {
    {"ingest", DSEND_CMD_INGEST, "FILE.ts... -o LIB.h5 [--block-size SIZE] [--bitrate RATE]",
     "ingest real MPEG-TS files into a library", "", 0, dsend_cmd_ingest},
    {"gen", DSEND_CMD_GEN,
     "-o LIB.h5 [--assets N] [--bitrate RATE|MIN:MAX] [--duration TIME|MIN:MAX] [--seed S]",
     "make a synthetic library for experiments", "", 0, dsend_cmd_gen},
    {"info", DSEND_CMD_INFO, "LIB.h5 [--devices D] [--replicas R] [--layout stripe|hash]",
     "show the catalogue and how blocks spread over devices", "", 0, dsend_cmd_info},
    {"load", DSEND_CMD_LOAD, "LIB.h5 [--replicas R] [--layout stripe|hash]",
     "(under mpirun -np D) every device reads its blocks into RAM and verifies them", "mpirun -np D ", 1,
     dsend_cmd_load},
    {"sim", DSEND_CMD_SIM,
     "LIB.h5 [--client-ranks K] [--clients C] [cluster and workload options] | --like MEASURED.h5,...",
     "(under mpirun -np N) simulate the cluster in virtual time: N-K devices, K client ranks",
     "mpirun -np N ", 1,
     dsend_cmd_sim},
    {"serve", DSEND_CMD_SERVE, "LIB.h5 [--rtsp HOST:PORT] [--duration TIME] [options]",
     "(under mpirun -np D) serve the library over RTSP with RTP/UDP straight from every device",
     "mpirun -np D ", 1, dsend_cmd_serve},
    {"clients", DSEND_CMD_CLIENTS,
     "rtsp://HOST:PORT/[ASSET] --library LIB.h5 [--clients C] [workload options of sim]",
     "real clients playing sim's workload against serve, every packet checked and metered", "", 0,
     dsend_cmd_clients},
    {"report", DSEND_CMD_REPORT, "RUN.h5 [RUN2.h5 ...] -o DIR [--force]",
     "figures (gnuplot), pages and a model/measurement comparison from results files", "", 0,
     dsend_cmd_report},
    {"plan", DSEND_CMD_PLAN, "LIB.h5 [options of sim] --sla LIMITS [--out DIR]",
     "(under mpirun -np N) the most clients that meet an SLA, by bisection over simulations",
     "mpirun -np N ", 1, dsend_cmd_plan},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: dsend COMMAND [OPTIONS] [ARGS]\n"
               "Serve video on demand from a cluster by distributed sending of media data,\n"
               "and simulate such clusters. One MPI rank is one device.\n\nCommands:\n");
    for (const dsend_command_def *d = commands; d->name; d++)
        fprintf(f, "  %-8s %s\n", d->name, d->summary);
    fprintf(f, "\nRun 'dsend COMMAND --help' for a command's options; 'dsend --version';\n"
               "'dsend --man' writes the manual page (installed as dsend(1)).\n");
}

static void command_help(const dsend_command_def *d, FILE *f)
{
    fprintf(f, "usage: %sdsend %s %s\n%s.\n\n", d->launch, d->name, d->usage, d->summary);
    dsend_options_help(d->cmd, f);
}

int dsend_main(int argc, char **argv, MPI_Comm comm, FILE *out)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (rank == 0)
            usage(argc < 2 ? stderr : out);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--man") == 0) {
        if (rank == 0)
            dsend_cli_man(out, commands);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        if (rank == 0)
            fprintf(out, "%s\n", PACKAGE_STRING);
        return 0;
    }
    const dsend_command_def *d = commands;
    while (d->name && strcmp(d->name, argv[1]) != 0)
        d++;
    if (!d->name) {
        if (rank == 0)
            fprintf(stderr, "dsend: unknown command '%.60s' (see dsend --help)\n", argv[1]);
        return 2;
    }
    /* errors are one line of ours: HDF5 never prints its own stack */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    dsend_config cfg;
    /* every rank parses the same argv, so every rank reaches the same verdict */
    int rc = dsend_options_parse(d->cmd, d->name, argc - 1, argv + 1, &cfg);
    if (rc) {
        if (rank == 0)
            fprintf(stderr, "dsend %s: %s\n", d->name, dsend_errmsg());
        dsend_options_free(&cfg);
        return 2;
    }
    if (cfg.help) {
        if (rank == 0)
            command_help(d, out);
        dsend_options_free(&cfg);
        return 0;
    }
    dsend_cli c = {.comm = comm, .rank = rank, .size = size, .out = out, .cfg = &cfg,
                   .cmd = d->cmd, .name = d->name, .argc = argc, .argv = argv};
    if (d->collective || rank == 0)
        rc = d->run(&c);
    if (!d->collective)
        rc = dsend_mpi_agree(comm, rc);
    if (rc && rank == 0)
        fprintf(stderr, "dsend %s: %s\n", d->name, dsend_errmsg());
    if (rank == 0)
        fflush(out);
    dsend_options_free(&cfg);
    return rc == 0 ? 0 : rc == DSEND_EINVAL ? 2 : 1;
}
