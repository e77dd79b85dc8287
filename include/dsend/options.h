/* One option table drives parsing, --help and the printed run
 * configuration (the shape of IOR's option.h).  Each row names the commands
 * it applies to; the same long name may appear in two rows for different
 * commands (gen's --bitrate is a range, ingest's a single rate). */
#ifndef DSEND_OPTIONS_H
#define DSEND_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum dsend_command {
    DSEND_CMD_INGEST = 1u << 0,
    DSEND_CMD_GEN = 1u << 1,
    DSEND_CMD_INFO = 1u << 2,
    DSEND_CMD_LOAD = 1u << 3,
    DSEND_CMD_SIM = 1u << 4,
    DSEND_CMD_SERVE = 1u << 5,
    DSEND_CMD_CLIENTS = 1u << 6,
    DSEND_CMD_REPORT = 1u << 7,
    DSEND_CMD_PLAN = 1u << 8,
};

typedef enum dsend_opt_type {
    DSEND_OPT_FLAG,           /* int, set to 1 */
    DSEND_OPT_COUNT,          /* int64_t with bounds, accepts 2k */
    DSEND_OPT_STRING,         /* const char * */
    DSEND_OPT_CHOICE,         /* const char *, one of choices[] */
    DSEND_OPT_SIZE,           /* uint64_t bytes */
    DSEND_OPT_RATE,           /* uint64_t bit/s */
    DSEND_OPT_DURATION,       /* int64_t ns */
    DSEND_OPT_RATE_RANGE,     /* uint64_t min at offset, max at offset2 */
    DSEND_OPT_DURATION_RANGE, /* int64_t min at offset, max at offset2 */
    DSEND_OPT_REAL,           /* double in [min, max]; "1%" is 0.01 */
    DSEND_OPT_LIST,           /* const char *: repeated values joined with ',' */
    DSEND_OPT_SHARE,          /* uint64_t bytes at offset, or "P%": a double fraction at offset2 */
} dsend_opt_type;

/* Everything a command line can say.  Positional arguments follow. */
typedef struct dsend_config {
    int help;
    int force;
    int quiet;
    int all;
    const char *output;
    uint64_t block_size;
    uint64_t bitrate;                     /* ingest: 0 = from PCRs */
    uint64_t bitrate_min, bitrate_max;    /* gen */
    int64_t duration_min, duration_max;   /* gen */
    int64_t assets;
    int64_t seed;
    int64_t devices;                      /* info: 0 = catalogue only */
    int64_t replicas;
    const char *layout;
    /* sim */
    int64_t client_ranks;
    int64_t clients;
    const char *asset;
    double zipf;
    const char *arrival;
    int64_t arrival_window;
    double arrival_rate;
    int64_t session_min, session_max;
    double pause_prob, seek_prob;
    int64_t pause_min, pause_max;
    int64_t startup, lead, tick, interval, until;
    uint64_t sub_block;
    uint64_t nic, client_link;
    int64_t ctrl_latency, data_latency, lookahead, jitter;
    double loss;
    int trace, json;
    /* serve */
    const char *rtsp;
    const char *advertise;     /* serve: the host in the URLs it hands out (NULL: reached) */
    const char *data_net;      /* serve: CIDR of the data network (NULL: one host) */
    const char *rtp_source;    /* serve: the address every device sends RTP from (NULL: own) */
    int64_t udp_port, max_sessions, max_peer_sessions;
    int64_t max_conns, max_peer_conns, conn_timeout, request_timeout;
    int64_t pace_lead, pace_batch, pace_burst, session_timeout, serve_duration;
    const char *metrics, *session_log;
    int64_t status_interval;
    int64_t prebuffer;
    /* clients */
    const char *library;
    int64_t start_at, give_up;
    /* sim --like */
    const char *like;
    /* plan */
    const char *sla;
    const char *find;
    /* RAM and mass storage */
    uint64_t ram;                         /* bytes per device; 0: see ram_share */
    double ram_share;                     /* fraction of each device's share; 0 (and ram 0): all */
    int64_t look_ahead;
    uint64_t disk_rate;
    int64_t disk_latency;
    /* failures and admission */
    int64_t heartbeat, detect;
    const char *fail, *recover, *admission;
    double admit_load;
    int npos;
    char **pos;
    char *joined[8];      /* DSEND_OPT_LIST values built from repeats */
    int njoined;
    const char *config;   /* --config FILE */
    char *config_text;    /* its contents, which values from it point into */
} dsend_config;

typedef struct dsend_option {
    const char *name;      /* long name, without "--" */
    char short_name;       /* 0 if none */
    dsend_opt_type type;
    size_t offset, offset2;
    unsigned commands;     /* DSEND_CMD_* mask */
    const char *metavar;
    const char *defval;    /* parsed like user input; NULL: zero/unset */
    const char *unset;     /* how the printed configuration shows zero/unset */
    const char *help;
    const char *const *choices; /* DSEND_OPT_CHOICE */
    int64_t min, max;      /* DSEND_OPT_COUNT */
    double rmin, rmax;     /* DSEND_OPT_REAL */
    int unprinted;         /* not part of the printed configuration (how it was given, not what) */
} dsend_option;

extern const dsend_option dsend_options[];

/* Apply defaults for cmd, then the --config file if argv names one, then
 * argv (argv[0] is the command name): the command line wins.  Returns 0, or
 * DSEND_EINVAL with one line naming the option (and FILE:LINE for the
 * configuration file).
 *
 * The configuration file holds "name = value" lines of long option names
 * (the form of the printed configuration, '#' starts a comment; a flag's
 * value is yes or no).  Lines before any section apply to every command
 * that has the option; a "[command]" section applies to that command only,
 * where an option it does not have is an error. */
int dsend_options_parse(unsigned cmd, const char *cmdname, int argc, char **argv,
                        dsend_config *cfg);
/* Set one option of cmd by long name from its printed form (as stored in a
 * results file's /config): 0, DSEND_ENOENT if cmd has no such option, or
 * DSEND_EINVAL with one line. */
int dsend_options_set(unsigned cmd, dsend_config *cfg, const char *name, const char *value);
/* Does the command line name this option (long or short)? */
int dsend_options_given(unsigned cmd, int argc, char **argv, const char *name);
/* The option part of `dsend CMD --help`. */
void dsend_options_help(unsigned cmd, FILE *out);
/* "# name = value" for every option of cmd, as parsed (the run's
 * configuration, printed with its results). */
void dsend_options_print(unsigned cmd, const dsend_config *cfg, FILE *out, const char *prefix);
/* The value of one option as the printed configuration shows it. */
void dsend_option_value(const dsend_option *o, const dsend_config *cfg, char *buf, size_t n);
/* Free what parse allocated (pos). */
void dsend_options_free(dsend_config *cfg);

#endif
