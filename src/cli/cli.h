/* Command-line front end (internal): one handler per dsend command. */
#ifndef DSEND_CLI_H
#define DSEND_CLI_H

#include <mpi.h>
#include <stdio.h>

#include "dsend/options.h"

typedef struct dsend_cli {
    MPI_Comm comm;
    int rank, size;
    FILE *out;                /* results; rank 0 writes */
    const dsend_config *cfg;
    unsigned cmd;
    const char *name;
    int argc;
    char **argv;
} dsend_cli;

typedef struct dsend_command_def {
    const char *name;
    unsigned cmd;
    const char *usage;        /* after "dsend NAME " */
    const char *summary;
    const char *launch;       /* how it is started, e.g. "mpirun -np N " ("" if alone) */
    int collective;           /* 1: every rank runs it; 0: rank 0 alone */
    int (*run)(dsend_cli *c); /* returns a dsend_rc */
} dsend_command_def;

/* The manual page from the command and option tables (man.c). */
void dsend_cli_man(FILE *out, const dsend_command_def *commands);

int dsend_cmd_ingest(dsend_cli *c);
int dsend_cmd_gen(dsend_cli *c);
int dsend_cmd_info(dsend_cli *c);
int dsend_cmd_load(dsend_cli *c);
int dsend_cmd_sim(dsend_cli *c);
int dsend_cmd_serve(dsend_cli *c);
int dsend_cmd_clients(dsend_cli *c);
int dsend_cmd_report(dsend_cli *c);
int dsend_cmd_plan(dsend_cli *c);
/* The simulation configuration a command line gives (sim and plan). */
struct dsend_sim_config;
void dsend_cli_sim_config(const dsend_cli *c, struct dsend_sim_config *s);
/* sim --like: apply the measured run's options to g (cli_like.c); *keep
 * holds the strings g now points into (free each, then the array). */
int dsend_cli_like(dsend_cli *c, dsend_config *g, char ***keep, size_t *nkeep);

#endif
