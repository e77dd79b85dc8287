/* The option table and its parser, --help and configuration printer. */
#include "dsend/options.h"
#include "dsend/core.h"
#include "dsend/ts.h"
#include "dsend/error.h"
#include "dsend/units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(dsend_config, f)
#define ALLCMDS (DSEND_CMD_INGEST | DSEND_CMD_GEN | DSEND_CMD_INFO | DSEND_CMD_LOAD | DSEND_CMD_SIM | \
                 DSEND_CMD_SERVE | DSEND_CMD_CLIENTS | DSEND_CMD_REPORT | DSEND_CMD_PLAN)
#define SIM DSEND_CMD_SIM
#define SERVE DSEND_CMD_SERVE
#define CLIENTS DSEND_CMD_CLIENTS
#define REPORT DSEND_CMD_REPORT
#define PLAN DSEND_CMD_PLAN

static const char *const layout_choices[] = {"stripe", "hash", NULL};
static const char *const onoff_choices[] = {"on", "off", NULL};
static const char *const arrival_choices[] = {"staggered", "all", "poisson", NULL};
static const char *const find_choices[] = {"clients", "ram", NULL};

const dsend_option dsend_options[] = {
    {.name = "help", .short_name = 'h', .type = DSEND_OPT_FLAG, .offset = OFF(help),
     .commands = ALLCMDS, .help = "show this help and exit"},
    {.name = "config", .type = DSEND_OPT_STRING, .offset = OFF(config), .commands = ALLCMDS,
     .metavar = "FILE", .unset = "none", .unprinted = 1,
     .help = "read options from FILE: 'name = value' lines of long option names ('#' comments; "
             "a [command] section applies to that command only); the command line wins"},
    {.name = "output", .short_name = 'o', .type = DSEND_OPT_STRING, .offset = OFF(output),
     .commands = DSEND_CMD_INGEST | DSEND_CMD_GEN, .metavar = "LIB.h5",
     .help = "the library file to write (required)"},
    {.name = "output", .short_name = 'o', .type = DSEND_OPT_STRING, .offset = OFF(output),
     .commands = REPORT, .metavar = "DIR", .help = "the report directory to write (required)"},
    {.name = "out", .type = DSEND_OPT_STRING, .offset = OFF(output), .commands = PLAN,
     .metavar = "DIR", .unset = "none", .help = "write the capacity curve (capacity.dat, .png, .svg) here"},
    {.name = "sla", .type = DSEND_OPT_STRING, .offset = OFF(sla), .commands = PLAN,
     .metavar = "LIMITS", .defval = "underrun<=0.1%,startup<=3s",
     .help = "what every run must meet: underrun<=P% (clients with an underrun), df<=TIME (p99 MDI DF), startup<=TIME (p99), ontime>=P%, refused<=P% (clients admission refused; without it, none may be)"},
    {.name = "find", .type = DSEND_OPT_CHOICE, .offset = OFF(find), .commands = PLAN,
     .metavar = "clients|ram", .defval = "clients", .choices = find_choices,
     .help = "what to find: the most clients the cluster carries, or the least RAM per device "
             "(--ram) that carries --clients"},
    {.name = "force", .short_name = 'f', .type = DSEND_OPT_FLAG, .offset = OFF(force),
     .commands = DSEND_CMD_INGEST | DSEND_CMD_GEN | REPORT,
     .help = "replace an existing output (library file or report directory)"},
    {.name = "block-size", .type = DSEND_OPT_SIZE, .offset = OFF(block_size),
     .commands = DSEND_CMD_INGEST, .metavar = "SIZE", .defval = "263200",
     .min = DSEND_TS_RTP_PAYLOAD, .max = DSEND_ASSET_MAX_BLOCK,
     .help = "block size: a multiple of 1316 bytes (7 TS packets, one RTP payload)"},
    {.name = "block-size", .type = DSEND_OPT_SIZE, .offset = OFF(block_size),
     .commands = DSEND_CMD_GEN, .metavar = "SIZE", .defval = "1MiB",
     .min = DSEND_TS_RTP_PAYLOAD, .max = DSEND_ASSET_MAX_BLOCK,
     .help = "block size"},
    {.name = "bitrate", .type = DSEND_OPT_RATE, .offset = OFF(bitrate),
     .commands = DSEND_CMD_INGEST, .metavar = "RATE", .unset = "from PCRs",
     .min = DSEND_ASSET_MIN_BITRATE, .max = DSEND_ASSET_MAX_BITRATE,
     .help = "the assets' bitrate, instead of deriving it from their PCRs"},
    {.name = "bitrate", .type = DSEND_OPT_RATE_RANGE, .offset = OFF(bitrate_min),
     .offset2 = OFF(bitrate_max), .commands = DSEND_CMD_GEN, .metavar = "RATE|MIN:MAX",
     .defval = "4Mbit/s",
     .min = DSEND_ASSET_MIN_BITRATE, .max = DSEND_ASSET_MAX_BITRATE,
     .help = "bitrate of each asset, or a uniform range"},
    {.name = "duration", .type = DSEND_OPT_DURATION_RANGE, .offset = OFF(duration_min),
     .offset2 = OFF(duration_max), .commands = DSEND_CMD_GEN, .metavar = "TIME|MIN:MAX",
     .defval = "30min",
     .min = DSEND_MS, .max = DSEND_ASSET_MAX_DURATION,
     .help = "duration of each asset, or a uniform range"},
    {.name = "assets", .short_name = 'n', .type = DSEND_OPT_COUNT, .offset = OFF(assets),
     .commands = DSEND_CMD_GEN, .metavar = "N", .defval = "100", .min = 1, .max = 10000000,
     .help = "number of synthetic assets"},
    {.name = "seed", .type = DSEND_OPT_COUNT, .offset = OFF(seed), .commands = DSEND_CMD_GEN | SIM | PLAN | SERVE | CLIENTS,
     .metavar = "S", .defval = "1", .min = 0, .max = INT64_MAX,
     .help = "seed of every random choice"},
    {.name = "devices", .short_name = 'd', .type = DSEND_OPT_COUNT, .offset = OFF(devices),
     .commands = DSEND_CMD_INFO, .metavar = "D", .unset = "none (catalogue only)", .min = 1,
     .max = 65536, .help = "also show how blocks and bytes spread over D devices"},
    {.name = "replicas", .short_name = 'r', .type = DSEND_OPT_COUNT, .offset = OFF(replicas),
     .commands = DSEND_CMD_INFO | DSEND_CMD_LOAD | SIM | PLAN | SERVE, .metavar = "R", .defval = "1", .min = 1,
     .max = 16, .help = "copies of every block, on distinct devices (R <= devices)"},
    {.name = "layout", .type = DSEND_OPT_CHOICE, .offset = OFF(layout),
     .commands = DSEND_CMD_INFO | DSEND_CMD_LOAD | SIM | PLAN | SERVE, .metavar = "POLICY", .defval = "stripe",
     .choices = layout_choices,
     .help = "block placement: stripe (round-robin from a per-asset start device) or hash "
             "(hashed into bins of primary and secondary devices)"},
    {.name = "all", .type = DSEND_OPT_FLAG, .offset = OFF(all), .commands = DSEND_CMD_INFO,
     .help = "list every asset (default: the first 20 of a longer catalogue)"},
    {.name = "quiet", .short_name = 'q', .type = DSEND_OPT_FLAG, .offset = OFF(quiet),
     .commands = DSEND_CMD_INGEST | DSEND_CMD_GEN | DSEND_CMD_LOAD | SIM | PLAN | SERVE,
     .help = "print nothing but errors"},
    /* ---- clients ---- */
    {.name = "library", .short_name = 'l', .type = DSEND_OPT_STRING, .offset = OFF(library),
     .commands = CLIENTS, .metavar = "LIB.h5", .help = "the library served, to check every payload byte (required)"},
    {.name = "duration", .type = DSEND_OPT_DURATION, .offset = OFF(serve_duration),
     .commands = CLIENTS, .metavar = "TIME", .unset = "until every session ends",
     .help = "stop receiving after this long"},
    {.name = "start", .type = DSEND_OPT_DURATION, .offset = OFF(start_at), .commands = CLIENTS,
     .metavar = "TIME", .defval = "0",
     .min = 0, .max = DSEND_ASSET_MAX_DURATION,
     .help = "every client plays from this media time (PLAY Range: npt=TIME-)"},
    {.name = "give-up", .type = DSEND_OPT_DURATION, .offset = OFF(give_up), .commands = CLIENTS,
     .metavar = "TIME", .defval = "5s",
     .min = 100 * DSEND_MS, .max = 3600 * DSEND_SEC,
     .help = "a session that receives nothing for this long past its end (or its start) is over, "
             "reported as such"},
    {.name = "out", .type = DSEND_OPT_STRING, .offset = OFF(output), .commands = CLIENTS,
     .metavar = "RUN.h5", .unset = "none", .help = "write the measurements (the format of dsend sim --out)"},
    {.name = "quiet", .short_name = 'q', .type = DSEND_OPT_FLAG, .offset = OFF(quiet),
     .commands = CLIENTS, .help = "print nothing but errors"},
    /* ---- serve ---- */
    {.name = "rtsp", .type = DSEND_OPT_STRING, .offset = OFF(rtsp), .commands = SERVE,
     .metavar = "HOST:PORT", .defval = "127.0.0.1:8554",
     .help = "front address clients use, IPv6 in brackets (0.0.0.0 or [::]: every address of "
             "the host, [::] both families); device d also listens on PORT+1+d"},
    {.name = "advertise", .type = DSEND_OPT_STRING, .offset = OFF(advertise), .commands = SERVE,
     .metavar = "HOST", .unset = "the address each client reached",
     .help = "the host named in the URLs serve hands out (the front's redirects, DESCRIBE's "
             "Content-Base), e.g. behind NAT or a load balancer: a name or an address (IPv6 "
             "with or without brackets)"},
    {.name = "udp-port", .type = DSEND_OPT_COUNT, .offset = OFF(udp_port), .commands = SERVE,
     .metavar = "PORT", .defval = "0", .min = 0, .max = 65000,
     .help = "every device of a host sends RTP from this one port (shared, SO_REUSEPORT), so a "
             "client sees one source (0: a free port)"},
    {.name = "data-net", .type = DSEND_OPT_STRING, .offset = OFF(data_net), .commands = SERVE,
     .metavar = "CIDR", .unset = "all devices on --rtsp's host",
     .help = "serve across hosts: each device listens for RTSP and sends RTP on its own address "
             "in this network (e.g. 198.19.0.0/24), and the front redirects to it; --rtsp gives "
             "the ports (doc/cluster.md)"},
    {.name = "rtp-source", .type = DSEND_OPT_STRING, .offset = OFF(rtp_source), .commands = SERVE,
     .metavar = "ADDR", .unset = "each device's own address",
     .help = "every device sends RTP from this address and one port, a service address shared "
             "by the device hosts, so a player sees one source across hosts (doc/cluster.md)"},
    {.name = "session-timeout", .type = DSEND_OPT_DURATION, .offset = OFF(session_timeout),
     .commands = SERVE, .metavar = "TIME", .defval = "60s",
     .min = DSEND_SEC, .max = 86400 * DSEND_SEC,
     .help = "a session without a request for this long ends"},
    {.name = "duration", .type = DSEND_OPT_DURATION, .offset = OFF(serve_duration),
     .commands = SERVE, .metavar = "TIME", .unset = "until SIGINT or SIGTERM",
     .help = "stop serving after this long"},
    {.name = "max-sessions", .type = DSEND_OPT_COUNT, .offset = OFF(max_sessions),
     .commands = SERVE, .metavar = "N", .defval = "8192", .min = 1, .max = 65536,
     .help = "sessions per device"},
    {.name = "max-peer-sessions", .type = DSEND_OPT_COUNT, .offset = OFF(max_peer_sessions),
     .commands = SERVE, .metavar = "N", .defval = "4096", .min = 1, .max = 65536,
     .help = "sessions one client address may hold per device"},
    {.name = "max-conns", .type = DSEND_OPT_COUNT, .offset = OFF(max_conns), .commands = SERVE,
     .metavar = "N", .defval = "8192", .min = 16, .max = 16384,
     .help = "RTSP connections per device; when full, a new one replaces the connection idle "
             "longest that holds no session (if none, the new one is closed)"},
    {.name = "max-peer-conns", .type = DSEND_OPT_COUNT, .offset = OFF(max_peer_conns),
     .commands = SERVE, .metavar = "N", .defval = "32", .min = 1, .max = 16384,
     .help = "connections without a session one client address may hold per device; beyond, "
             "its own connection idle longest gives way"},
    {.name = "conn-timeout", .type = DSEND_OPT_DURATION, .offset = OFF(conn_timeout),
     .commands = SERVE, .metavar = "TIME", .defval = "30s", .min = 100 * DSEND_MS,
     .max = 86400 * DSEND_SEC,
     .help = "a connection that holds no session and sends no request for this long is closed"},
    {.name = "request-timeout", .type = DSEND_OPT_DURATION, .offset = OFF(request_timeout),
     .commands = SERVE, .metavar = "TIME", .defval = "10s", .min = 100 * DSEND_MS,
     .max = 600 * DSEND_SEC,
     .help = "a request must be whole this long after its first byte, else 408 and the "
             "connection closes (slow clients)"},
    {.name = "metrics", .type = DSEND_OPT_STRING, .offset = OFF(metrics), .commands = SERVE,
     .metavar = "HOST:PORT", .unset = "off",
     .help = "rank 0 answers GET /metrics there (IPv6 in brackets): every device's sessions, packets, bytes, "
             "utilization, queue, admissions (Prometheus text)"},
    {.name = "status-interval", .type = DSEND_OPT_DURATION, .offset = OFF(status_interval),
     .commands = SERVE, .metavar = "TIME", .defval = "10s", .max = 86400 * DSEND_SEC,
     .help = "rank 0 prints a status line this often while serving (0: never; none with "
             "--quiet or --json)"},
    {.name = "session-log", .type = DSEND_OPT_STRING, .offset = OFF(session_log),
     .commands = SERVE, .metavar = "FILE|-|off", .defval = "-",
     .help = "one line per session start, seek, pause, resume and end: - on standard error, "
             "else appended to FILE (every device's), or off"},
    /* ---- sim ---- */
    {.name = "devices", .short_name = 'd', .type = DSEND_OPT_COUNT, .offset = OFF(devices),
     .commands = SIM | PLAN, .metavar = "D", .unset = "one per device rank", .min = 1, .max = 65536,
     .help = "devices to simulate, dealt over the N-K device ranks (at least N-K)"},
    {.name = "client-ranks", .short_name = 'k', .type = DSEND_OPT_COUNT, .offset = OFF(client_ranks),
     .commands = SIM | PLAN, .metavar = "K", .defval = "1", .min = 1, .max = 65536,
     .help = "ranks hosting the virtual clients; the other N-K ranks are devices"},
    {.name = "clients", .short_name = 'c', .type = DSEND_OPT_COUNT, .offset = OFF(clients),
     .commands = SIM | PLAN, .metavar = "C", .defval = "100", .min = 1, .max = 100000000,
     .help = "virtual clients, one stream each"},
    {.name = "asset", .type = DSEND_OPT_STRING, .offset = OFF(asset), .commands = SIM | PLAN | CLIENTS,
     .metavar = "NAME", .unset = "Zipf over all assets", .help = "every client plays this asset"},
    {.name = "zipf", .type = DSEND_OPT_REAL, .offset = OFF(zipf), .commands = SIM | PLAN | CLIENTS, .metavar = "S",
     .defval = "0.8", .rmin = 0, .rmax = 10,
     .help = "popularity of asset i (in id order) is proportional to 1/(i+1)^S; 0 is uniform"},
    {.name = "arrival", .type = DSEND_OPT_CHOICE, .offset = OFF(arrival), .commands = SIM | PLAN | CLIENTS,
     .metavar = "MODE", .defval = "staggered", .choices = arrival_choices,
     .help = "client arrivals: staggered (evenly over --arrival-window), all (at t=0), "
             "poisson (--arrival-rate)"},
    {.name = "arrival-window", .type = DSEND_OPT_DURATION, .offset = OFF(arrival_window),
     .commands = SIM | PLAN | CLIENTS, .metavar = "TIME", .defval = "10s",
     .min = 0, .max = DSEND_ASSET_MAX_DURATION,
     .help = "span of staggered arrivals"},
    {.name = "arrival-rate", .type = DSEND_OPT_REAL, .offset = OFF(arrival_rate), .commands = SIM | PLAN | CLIENTS,
     .metavar = "PER_S", .defval = "10", .rmin = 0, .rmax = 1e9,
     .help = "mean arrivals per second (poisson)"},
    {.name = "session", .type = DSEND_OPT_DURATION_RANGE, .offset = OFF(session_min),
     .offset2 = OFF(session_max), .commands = SIM | PLAN | CLIENTS, .metavar = "TIME|MIN:MAX",
     .unset = "whole asset",
     .min = DSEND_MS, .max = DSEND_ASSET_MAX_DURATION,
     .help = "media time each client plays, uniform in the range"},
    {.name = "pause", .type = DSEND_OPT_REAL, .offset = OFF(pause_prob), .commands = SIM | PLAN | CLIENTS,
     .metavar = "P", .defval = "0", .rmin = 0, .rmax = 1,
     .help = "probability a client pauses once, 20-50% into its session"},
    {.name = "pause-length", .type = DSEND_OPT_DURATION_RANGE, .offset = OFF(pause_min),
     .offset2 = OFF(pause_max), .commands = SIM | PLAN | CLIENTS, .metavar = "TIME|MIN:MAX", .defval = "5s",
     .min = DSEND_MS, .max = 86400 * DSEND_SEC,
     .help = "how long a pause lasts"},
    {.name = "seek", .type = DSEND_OPT_REAL, .offset = OFF(seek_prob), .commands = SIM | PLAN | CLIENTS,
     .metavar = "P", .defval = "0", .rmin = 0, .rmax = 1,
     .help = "probability a client seeks once, 55-80% into its session, to a random offset"},
    {.name = "clients", .short_name = 'c', .type = DSEND_OPT_COUNT, .offset = OFF(clients),
     .commands = CLIENTS, .metavar = "C", .defval = "100", .min = 1, .max = 100000000,
     .help = "clients, one RTSP session each, dealt over the devices by the front as sim deals them"},
    {.name = "startup", .type = DSEND_OPT_DURATION, .offset = OFF(startup), .commands = CLIENTS,
     .metavar = "TIME", .defval = "400ms",
     .min = DSEND_STARTUP_MIN, .max = DSEND_STARTUP_MAX,
     .help = "the server's --startup: the workload places pauses and seeks from it, as sim does"},
    {.name = "startup", .type = DSEND_OPT_DURATION, .offset = OFF(startup), .commands = SIM | PLAN | SERVE,
     .metavar = "TIME", .defval = "400ms",
     .min = DSEND_STARTUP_MIN, .max = DSEND_STARTUP_MAX,
     .help = "from a request reaching its scheduler to the playout time of its first byte; the "
             "first packet leaves --pace-lead before that (100 ms after the request by default)"},
    {.name = "lead", .type = DSEND_OPT_DURATION, .offset = OFF(lead), .commands = SIM | PLAN | SERVE,
     .metavar = "TIME", .defval = "2s",
     .min = DSEND_LEAD_MIN, .max = DSEND_LEAD_MAX,
     .help = "send requests leave this long before a block's deadline"},
    {.name = "tick", .type = DSEND_OPT_DURATION, .offset = OFF(tick), .commands = SIM | PLAN | SERVE,
     .metavar = "TIME", .defval = "100ms",
     .min = DSEND_TICK_MIN, .max = DSEND_TICK_MAX,
     .help = "least time between a scheduler's planning rounds"},
    {.name = "sub-block", .type = DSEND_OPT_SIZE, .offset = OFF(sub_block), .commands = SIM | PLAN | SERVE,
     .metavar = "SIZE", .defval = "65800",
     .min = DSEND_PKT_PAYLOAD, .max = DSEND_SUB_BLOCK_MAX,
     .help = "unit a sender sends (a multiple of 1316 for MPEG-TS assets)"},
    {.name = "pace-lead", .type = DSEND_OPT_DURATION, .offset = OFF(pace_lead),
     .commands = SIM | PLAN | SERVE, .metavar = "TIME", .defval = "300ms",
     .min = 0, .max = DSEND_PACE_LEAD_MAX,
     .help = "the pacer releases a packet this long before its playout time (<= --lead)"},
    {.name = "pace-batch", .type = DSEND_OPT_DURATION, .offset = OFF(pace_batch),
     .commands = SIM | PLAN | SERVE, .metavar = "TIME", .defval = "500us",
     .min = DSEND_PACE_BATCH_MIN, .max = DSEND_PACE_BATCH_MAX,
     .help = "the link's budget slot of the pacer; serve sends what is due within it in one batch"},
    {.name = "pace-burst", .type = DSEND_OPT_DURATION, .offset = OFF(pace_burst),
     .commands = SIM | PLAN | SERVE, .metavar = "TIME", .defval = "20ms",
     .min = 0, .max = DSEND_PACE_BURST_MAX,
     .help = "a session's packets leave in bursts of this much media (one UDP GSO send; 0: one "
             "packet at a time)"},
    {.name = "prebuffer", .type = DSEND_OPT_DURATION, .offset = OFF(prebuffer),
     .commands = SIM | PLAN | CLIENTS, .metavar = "TIME", .defval = "1s",
     .min = 0, .max = 3600 * DSEND_SEC,
     .help = "a client starts playout this long after the first packet of a start or seek"},
    {.name = "nic", .type = DSEND_OPT_RATE, .offset = OFF(nic), .commands = SIM | PLAN | SERVE, .metavar = "RATE",
     .defval = "10Gbit/s",
     .min = DSEND_LINK_MIN_BPS, .max = DSEND_LINK_MAX_BPS,
     .help = "each device's egress link, in wire bytes (payload and RTP/UDP/IP headers); the pacer keeps to it"},
    {.name = "client-link", .type = DSEND_OPT_RATE, .offset = OFF(client_link), .commands = SIM | PLAN,
     .metavar = "RATE", .defval = "25Mbit/s",
     .min = DSEND_LINK_MIN_BPS, .max = DSEND_LINK_MAX_BPS,
     .help = "each client's access link"},
    {.name = "ctrl-latency", .type = DSEND_OPT_DURATION, .offset = OFF(ctrl_latency),
     .commands = SIM | PLAN, .metavar = "TIME", .defval = "1ms",
     .min = 1, .max = 60 * DSEND_SEC,
     .help = "one-way latency of the control network (requests, send requests)"},
    {.name = "data-latency", .type = DSEND_OPT_DURATION, .offset = OFF(data_latency),
     .commands = SIM | PLAN, .metavar = "TIME", .defval = "5ms",
     .min = 1, .max = 60 * DSEND_SEC,
     .help = "one-way latency of the data network (sender to client)"},
    {.name = "lookahead", .type = DSEND_OPT_DURATION, .offset = OFF(lookahead), .commands = SIM | PLAN,
     .metavar = "TIME", .unset = "the smallest latency",
     .min = 0, .max = 60 * DSEND_SEC,
     .help = "window of the parallel event core; must not exceed a latency"},
    {.name = "loss", .type = DSEND_OPT_REAL, .offset = OFF(loss), .commands = SIM | PLAN,
     .metavar = "P", .defval = "0", .rmin = 0, .rmax = 0.999999,
     .help = "probability a packet is lost (0.01 or 1%)"},
    {.name = "jitter", .type = DSEND_OPT_DURATION, .offset = OFF(jitter), .commands = SIM | PLAN,
     .metavar = "TIME", .defval = "0",
     .min = 0, .max = 60 * DSEND_SEC,
     .help = "extra delay per packet, uniform in [0, TIME]"},
    {.name = "interval", .type = DSEND_OPT_DURATION, .offset = OFF(interval), .commands = SIM | PLAN | SERVE,
     .metavar = "TIME", .defval = "1s",
     .min = DSEND_INTERVAL_MIN, .max = DSEND_INTERVAL_MAX,
     .help = "bucket of the time series"},
    {.name = "until", .type = DSEND_OPT_DURATION, .offset = OFF(until), .commands = SIM | PLAN,
     .metavar = "TIME", .unset = "the end of every session",
     .min = 0, .max = 30 * 86400 * DSEND_SEC,
     .help = "stop virtual time here"},
    {.name = "out", .type = DSEND_OPT_STRING, .offset = OFF(output), .commands = SIM,
     .metavar = "RUN.h5", .unset = "none", .help = "write the results file"},
    {.name = "out", .type = DSEND_OPT_STRING, .offset = OFF(output), .commands = SERVE,
     .metavar = "RUN.h5", .unset = "none",
     .help = "at the stop, write the server side (per device bytes, packets, queue, series) in the results format"},
    {.name = "like", .type = DSEND_OPT_STRING, .offset = OFF(like), .commands = SIM,
     .metavar = "FILE.h5[,FILE.h5]", .unset = "none",
     .help = "simulate the scenario of a measured run: the configuration of a serve --out file and "
             "the workload of a clients --out file; options given too win"},
    /* ---- RAM and mass storage (sim, plan, serve) ---- */
    {.name = "ram", .type = DSEND_OPT_SHARE, .offset = OFF(ram), .offset2 = OFF(ram_share),
     .commands = SIM | PLAN | SERVE, .metavar = "SIZE|P%", .unset = "all of its share",
     .help = "RAM for blocks per device, or P% of its share; below its share nothing is "
             "preloaded: blocks are read from the library file on demand into a cache"},
    {.name = "look-ahead", .type = DSEND_OPT_DURATION, .offset = OFF(look_ahead),
     .commands = SIM | PLAN | SERVE, .metavar = "TIME", .defval = "5s",
     .min = 0, .max = 3600 * DSEND_SEC,
     .help = "with --ram below the share, schedulers pin each block this long before its "
             "deadline so senders read it in time (>= --lead; 0: off)"},
    {.name = "disk-rate", .type = DSEND_OPT_RATE, .offset = OFF(disk_rate),
     .commands = SIM | PLAN, .metavar = "RATE", .defval = "4Gbit/s",
     .min = DSEND_LINK_MIN_BPS, .max = DSEND_LINK_MAX_BPS,
     .help = "each device's mass storage delivers the bytes of its reads at this rate, one "
             "read after another (FIFO)"},
    {.name = "disk-latency", .type = DSEND_OPT_DURATION, .offset = OFF(disk_latency),
     .commands = SIM | PLAN, .metavar = "TIME", .defval = "200us",
     .min = 0, .max = 60 * DSEND_SEC,
     .help = "a read from mass storage is answered this long after it is issued (reads in "
             "flight overlap), then its bytes flow"},
    /* ---- failures and admission (sim, plan, serve) ---- */
    {.name = "heartbeat", .type = DSEND_OPT_DURATION, .offset = OFF(heartbeat),
     .commands = SIM | PLAN | SERVE, .metavar = "TIME", .defval = "100ms",
     .min = DSEND_HEARTBEAT_MIN, .max = DSEND_HEARTBEAT_MAX,
     .help = "every device tells every other it lives (with its load) this often"},
    {.name = "detect", .type = DSEND_OPT_DURATION, .offset = OFF(detect),
     .commands = SIM | PLAN | SERVE, .metavar = "TIME", .defval = "300ms",
     .min = 2 * DSEND_HEARTBEAT_MIN, .max = DSEND_DETECT_MAX,
     .help = "a device not heard for this long is taken for dead: its blocks are asked of the "
             "next holder, its sessions taken over (>= 2 heartbeats)"},
    {.name = "fail", .type = DSEND_OPT_LIST, .offset = OFF(fail), .commands = SIM | PLAN | SERVE,
     .metavar = "DEVICE@TIME", .unset = "none",
     .help = "device DEVICE stops sending and answering at TIME (repeatable; serve: it goes "
             "silent)"},
    {.name = "recover", .type = DSEND_OPT_LIST, .offset = OFF(recover), .commands = SIM | PLAN,
     .metavar = "DEVICE@TIME", .unset = "none",
     .help = "a failed device comes back at TIME, its blocks in RAM and no sessions (repeatable)"},
    {.name = "admission", .type = DSEND_OPT_CHOICE, .offset = OFF(admission),
     .commands = SIM | PLAN | SERVE, .metavar = "on|off", .defval = "on", .choices = onoff_choices,
     .help = "admit a stream only where the links have room (refused: RTSP 453 in serve)"},
    {.name = "admit-load", .type = DSEND_OPT_REAL, .offset = OFF(admit_load),
     .commands = SIM | PLAN | SERVE, .metavar = "F", .defval = "0.9", .rmin = 0.01, .rmax = 1,
     .help = "admission fills the live devices' links up to this fraction (media and headers)"},
    {.name = "trace", .type = DSEND_OPT_FLAG, .offset = OFF(trace), .commands = SIM,
     .help = "keep every sub-block arrival in the results file"},
    {.name = "json", .type = DSEND_OPT_FLAG, .offset = OFF(json),
     .commands = DSEND_CMD_INFO | DSEND_CMD_LOAD | SIM | CLIENTS | SERVE | PLAN,
     .help = "print the results as one JSON object (on rank 0) instead of text"},
    {.name = NULL},
};

#define FIELD(cfg, off, T) ((T *)((char *)(cfg) + (off)))

/* A size, rate or duration outside the row's [min, max] (when it has a
 * max): "VALUE: must be between MIN and MAX", in the option's own units. */
static int out_of_bounds(const dsend_option *o, const char *v, uint64_t x)
{
    if (!o->max || (x >= (uint64_t)o->min && x <= (uint64_t)o->max))
        return 0;
    char lo[32], hi[32];
    switch (o->type) {
    case DSEND_OPT_SIZE:
        dsend_format_size((uint64_t)o->min, lo, sizeof lo);
        dsend_format_size((uint64_t)o->max, hi, sizeof hi);
        break;
    case DSEND_OPT_RATE:
    case DSEND_OPT_RATE_RANGE:
        dsend_format_rate((uint64_t)o->min, lo, sizeof lo);
        dsend_format_rate((uint64_t)o->max, hi, sizeof hi);
        break;
    default:
        dsend_format_duration(o->min, lo, sizeof lo);
        dsend_format_duration(o->max, hi, sizeof hi);
    }
    return dsend_seterr(DSEND_EINVAL, "%s: must be between %s and %s", v, lo, hi);
}

static int set_value(const dsend_option *o, const char *v, dsend_config *cfg)
{
    int rc = 0;
    char lo[128];
    switch (o->type) {
    case DSEND_OPT_FLAG:
        *FIELD(cfg, o->offset, int) = 1;
        return 0;
    case DSEND_OPT_STRING:
        *FIELD(cfg, o->offset, const char *) = v;
        return 0;
    case DSEND_OPT_LIST: {
        const char *cur = *FIELD(cfg, o->offset, const char *);
        if (!cur) {
            *FIELD(cfg, o->offset, const char *) = v;
            return 0;
        }
        if (cfg->njoined == (int)(sizeof cfg->joined / sizeof *cfg->joined))
            return dsend_seterr(DSEND_EINVAL, "too many repeated options");
        size_t n = strlen(cur) + strlen(v) + 2;
        char *j = malloc(n);
        if (!j)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        snprintf(j, n, "%s,%s", cur, v);
        cfg->joined[cfg->njoined++] = j;
        *FIELD(cfg, o->offset, const char *) = j;
        return 0;
    }
    case DSEND_OPT_CHOICE:
        for (const char *const *c = o->choices; *c; c++)
            if (strcmp(*c, v) == 0) {
                *FIELD(cfg, o->offset, const char *) = *c;
                return 0;
            }
        return dsend_seterr(DSEND_EINVAL, "'%s': not one of the choices", v);
    case DSEND_OPT_COUNT: {
        int64_t x;
        if ((rc = dsend_parse_count(v, &x)))
            return rc;
        if (x < o->min || x > o->max)
            return dsend_seterr(DSEND_EINVAL, "%s: must be between %lld and %lld", v,
                                (long long)o->min, (long long)o->max);
        *FIELD(cfg, o->offset, int64_t) = x;
        return 0;
    }
    case DSEND_OPT_REAL: {
        char *end;
        double x = strtod(v, &end);
        if (end == v)
            return dsend_seterr(DSEND_EINVAL, "'%s': not a number", v);
        if (*end == '%') {
            x /= 100;
            end++;
        }
        if (*end || x != x)
            return dsend_seterr(DSEND_EINVAL, "'%s': not a number", v);
        if (x < o->rmin || x > o->rmax)
            return dsend_seterr(DSEND_EINVAL, "%s: must be between %g and %g", v, o->rmin, o->rmax);
        *FIELD(cfg, o->offset, double) = x;
        return 0;
    }
    case DSEND_OPT_SIZE: {
        uint64_t x;
        if ((rc = dsend_parse_size(v, &x)) || (rc = out_of_bounds(o, v, x)))
            return rc;
        *FIELD(cfg, o->offset, uint64_t) = x;
        return 0;
    }
    case DSEND_OPT_SHARE: {
        size_t n = strlen(v);
        *FIELD(cfg, o->offset, uint64_t) = 0;
        *FIELD(cfg, o->offset2, double) = 0;
        if (n && v[n - 1] == '%') {
            char *end;
            double x = strtod(v, &end);
            if (end == v || end != v + n - 1 || !(x > 0 && x <= 100))
                return dsend_seterr(DSEND_EINVAL, "'%s': a percentage in (0, 100]", v);
            *FIELD(cfg, o->offset2, double) = x / 100;
            return 0;
        }
        if ((rc = dsend_parse_size(v, FIELD(cfg, o->offset, uint64_t))))
            return rc;
        if (*FIELD(cfg, o->offset, uint64_t) == 0)
            return dsend_seterr(DSEND_EINVAL, "'%s': must be > 0", v);
        return 0;
    }
    case DSEND_OPT_RATE: {
        uint64_t x;
        if ((rc = dsend_parse_rate(v, &x)) || (rc = out_of_bounds(o, v, x)))
            return rc;
        *FIELD(cfg, o->offset, uint64_t) = x;
        return 0;
    }
    case DSEND_OPT_DURATION: {
        int64_t x;
        if ((rc = dsend_parse_duration(v, &x)) || (rc = out_of_bounds(o, v, (uint64_t)x)))
            return rc;
        *FIELD(cfg, o->offset, int64_t) = x;
        return 0;
    }
    case DSEND_OPT_RATE_RANGE:
    case DSEND_OPT_DURATION_RANGE: {
        const char *colon = strchr(v, ':');
        const char *hi = colon ? colon + 1 : v;
        snprintf(lo, sizeof lo, "%.*s", (int)(colon ? (size_t)(colon - v) : strlen(v)), v);
        if (o->type == DSEND_OPT_RATE_RANGE) {
            uint64_t a, b;
            if ((rc = dsend_parse_rate(lo, &a)) || (rc = dsend_parse_rate(hi, &b)))
                return rc;
            if (a == 0 || a > b)
                return dsend_seterr(DSEND_EINVAL, "'%s': need 0 < MIN <= MAX", v);
            if ((rc = out_of_bounds(o, v, a)) || (rc = out_of_bounds(o, v, b)))
                return rc;
            *FIELD(cfg, o->offset, uint64_t) = a;
            *FIELD(cfg, o->offset2, uint64_t) = b;
        } else {
            int64_t a, b;
            if ((rc = dsend_parse_duration(lo, &a)) || (rc = dsend_parse_duration(hi, &b)))
                return rc;
            if (a <= 0 || a > b)
                return dsend_seterr(DSEND_EINVAL, "'%s': need 0 < MIN <= MAX", v);
            if ((rc = out_of_bounds(o, v, (uint64_t)a)) || (rc = out_of_bounds(o, v, (uint64_t)b)))
                return rc;
            *FIELD(cfg, o->offset, int64_t) = a;
            *FIELD(cfg, o->offset2, int64_t) = b;
        }
        return 0;
    }
    }
    return dsend_seterr(DSEND_EINVAL, "internal: bad option type");
}

static const dsend_option *find(unsigned cmd, const char *name, size_t len, char short_name,
                                int *elsewhere)
{
    *elsewhere = 0;
    for (const dsend_option *o = dsend_options; o->name; o++) {
        int match = short_name ? o->short_name == short_name
                               : strlen(o->name) == len && strncmp(o->name, name, len) == 0;
        if (!match)
            continue;
        if (o->commands & cmd)
            return o;
        *elsewhere = 1;
    }
    return NULL;
}

int dsend_options_set(unsigned cmd, dsend_config *cfg, const char *name, const char *value)
{
    int elsewhere;
    const dsend_option *o = find(cmd, name, strlen(name), 0, &elsewhere);
    if (!o || o->type == DSEND_OPT_FLAG)
        return DSEND_ENOENT;
    if (o->unset && strcmp(value, o->unset) == 0) {
        /* the printed form of "not set" */
        switch (o->type) {
        case DSEND_OPT_STRING:
        case DSEND_OPT_LIST:
        case DSEND_OPT_CHOICE:
            *FIELD(cfg, o->offset, const char *) = NULL;
            return 0;
        case DSEND_OPT_SHARE:
            *FIELD(cfg, o->offset2, double) = 0;
            *FIELD(cfg, o->offset, uint64_t) = 0;
            return 0;
        case DSEND_OPT_RATE_RANGE:
        case DSEND_OPT_DURATION_RANGE:
            *FIELD(cfg, o->offset2, int64_t) = 0;
            /* fall through */
        default:
            *FIELD(cfg, o->offset, int64_t) = 0;
            return 0;
        }
    }
    int rc = set_value(o, value, cfg);
    if (rc) {
        char why[256];
        snprintf(why, sizeof why, "%s", dsend_errmsg());
        return dsend_seterr(DSEND_EINVAL, "--%s %s: %s", name, value, why);
    }
    return 0;
}

int dsend_options_given(unsigned cmd, int argc, char **argv, const char *name)
{
    int elsewhere;
    const dsend_option *o = find(cmd, name, strlen(name), 0, &elsewhere);
    for (int i = 1; o && i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (a[0] == '-' && a[1] == '-') {
            size_t n = strcspn(a + 2, "=");
            if (n == strlen(name) && strncmp(a + 2, name, n) == 0)
                return 1;
        } else if (a[0] == '-' && a[1] && o->short_name && a[1] == o->short_name) {
            return 1;
        }
    }
    return 0;
}

/* ---- the configuration file ---- */

#define CONFIG_MAX (1 << 20)

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

static unsigned command_bit(const char *name)
{
    static const struct { const char *name; unsigned bit; } cmds[] = {
        {"ingest", DSEND_CMD_INGEST}, {"gen", DSEND_CMD_GEN},   {"info", DSEND_CMD_INFO},
        {"load", DSEND_CMD_LOAD},     {"sim", DSEND_CMD_SIM},   {"serve", DSEND_CMD_SERVE},
        {"clients", DSEND_CMD_CLIENTS}, {"report", DSEND_CMD_REPORT}, {"plan", DSEND_CMD_PLAN}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return cmds[i].bit;
    return 0;
}

static int config_line(unsigned cmd, const char *path, int line, unsigned section, char *s,
                       dsend_config *cfg, uint8_t *from_file)
{
    char *eq = strchr(s, '=');
    if (!eq)
        return dsend_seterr(DSEND_EINVAL, "%s:%d: want 'name = value'", path, line);
    *eq = 0;
    char *name = trim(s), *value = trim(eq + 1);
    if (strncmp(name, "--", 2) == 0)
        name += 2;
    int elsewhere;
    const dsend_option *o = find(cmd, name, strlen(name), 0, &elsewhere);
    if (!o) {
        if (elsewhere && !section)
            return 0; /* another command's option, in the shared part */
        return dsend_seterr(DSEND_EINVAL, "%s:%d: %s '%.60s'%s", path, line,
                            elsewhere ? "not an option of this command:" : "unknown option", name,
                            elsewhere ? "" : " (see dsend COMMAND --help)");
    }
    if (strcmp(o->name, "config") == 0 || strcmp(o->name, "help") == 0)
        return dsend_seterr(DSEND_EINVAL, "%s:%d: '%s' cannot be set in a configuration file",
                            path, line, o->name);
    from_file[o - dsend_options] = 1;
    int rc = 0;
    if (o->type == DSEND_OPT_FLAG) {
        if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            *FIELD(cfg, o->offset, int) = 1;
        else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 ||
                 strcmp(value, "0") == 0)
            *FIELD(cfg, o->offset, int) = 0;
        else
            rc = dsend_seterr(DSEND_EINVAL, "want yes or no");
    } else {
        rc = dsend_options_set(cmd, cfg, o->name, value);
    }
    if (rc) {
        char why[600];
        snprintf(why, sizeof why, "%s", dsend_errmsg());
        return dsend_seterr(DSEND_EINVAL, "%s:%d: %s = %.60s: %s", path, line, o->name, value,
                            why);
    }
    return 0;
}

static int read_config(unsigned cmd, const char *path, dsend_config *cfg, uint8_t *from_file)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return dsend_seterr(DSEND_EINVAL, "--config %s: %s", path, strerror(errno));
    char *text = malloc(CONFIG_MAX + 1);
    size_t n = text ? fread(text, 1, CONFIG_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!text)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    if (bad || n > CONFIG_MAX) {
        free(text);
        return dsend_seterr(DSEND_EINVAL, "--config %s: %s", path,
                            bad ? "cannot read it" : "larger than 1 MiB");
    }
    if (memchr(text, 0, n)) {
        free(text);
        return dsend_seterr(DSEND_EINVAL, "--config %s: not a text file", path);
    }
    text[n] = 0;
    cfg->config_text = text;
    unsigned section = 0; /* 0: every command's part */
    int skip = 0, line = 0;
    for (char *s = text, *next; s && *s; s = next) {
        line++;
        next = strchr(s, '\n');
        if (next)
            *next++ = 0;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = 0;
        s = trim(s);
        if (!*s)
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || end[1])
                return dsend_seterr(DSEND_EINVAL, "%s:%d: want [command]", path, line);
            *end = 0;
            section = command_bit(trim(s + 1));
            if (!section)
                return dsend_seterr(DSEND_EINVAL, "%s:%d: unknown command '%.40s'", path, line,
                                    trim(s + 1));
            skip = !(section & cmd);
            continue;
        }
        if (skip)
            continue;
        int rc = config_line(cmd, path, line, section, s, cfg, from_file);
        if (rc)
            return rc;
    }
    return 0;
}

/* --config FILE (or --config=FILE) on the command line, or NULL. */
static const char *config_arg(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path;
}

int dsend_options_parse(unsigned cmd, const char *cmdname, int argc, char **argv,
                        dsend_config *cfg)
{
    uint8_t from_file[256] = {0}; /* options the file set (a list on the command line replaces) */
    memset(cfg, 0, sizeof *cfg);
    for (const dsend_option *o = dsend_options; o->name; o++)
        if ((o->commands & cmd) && o->defval && set_value(o, o->defval, cfg) != 0)
            return dsend_seterr(DSEND_EINVAL, "internal: bad default for --%s", o->name);
    size_t nopt = 0;
    while (dsend_options[nopt].name)
        nopt++;
    if (nopt > sizeof from_file)
        return dsend_seterr(DSEND_EINVAL, "internal: more options than the parser tracks");
    const char *config = config_arg(argc, argv);
    if (config) {
        int rc = read_config(cmd, config, cfg, from_file);
        if (rc)
            return rc;
    }
    if (!(cfg->pos = calloc((size_t)argc + 1, sizeof *cfg->pos)))
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            cfg->pos[cfg->npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        const dsend_option *o;
        const char *value = NULL;
        char shown[80];
        int elsewhere;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            snprintf(shown, sizeof shown, "--%.*s", (int)(len < 60 ? len : 60), name);
            o = find(cmd, name, len, 0, &elsewhere);
            if (eq)
                value = eq + 1;
        } else {
            snprintf(shown, sizeof shown, "-%c", a[1]);
            o = find(cmd, NULL, 0, a[1], &elsewhere);
            if (a[2])
                value = a + 2;
        }
        if (!o) {
            if (elsewhere)
                return dsend_seterr(DSEND_EINVAL, "%s is not an option of 'dsend %s' (see dsend %s --help)",
                                    shown, cmdname, cmdname);
            return dsend_seterr(DSEND_EINVAL, "unknown option '%s' (see dsend %s --help)", shown,
                                cmdname);
        }
        if (o->type == DSEND_OPT_FLAG) {
            if (value)
                return dsend_seterr(DSEND_EINVAL, "--%s takes no value", o->name);
        } else if (!value) {
            if (i + 1 >= argc)
                return dsend_seterr(DSEND_EINVAL, "--%s needs a value (%s)", o->name, o->metavar);
            value = argv[++i];
        }
        if (o->type == DSEND_OPT_LIST && from_file[o - dsend_options]) {
            /* the command line's list replaces the file's */
            from_file[o - dsend_options] = 0;
            *FIELD(cfg, o->offset, const char *) = NULL;
        }
        if (set_value(o, value, cfg) != 0) {
            char why[600];
            snprintf(why, sizeof why, "%s", dsend_errmsg());
            if (o->type == DSEND_OPT_CHOICE) {
                char list[200] = "";
                for (const char *const *c = o->choices; *c; c++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                             c == o->choices ? "" : ", ", *c);
                return dsend_seterr(DSEND_EINVAL, "--%s %s: must be one of %s", o->name, value,
                                    list);
            }
            return dsend_seterr(DSEND_EINVAL, "--%s %s", o->name, why);
        }
    }
    return 0;
}

void dsend_options_free(dsend_config *cfg)
{
    free(cfg->config_text);
    cfg->config_text = NULL;
    free(cfg->pos);
    cfg->pos = NULL;
    cfg->npos = 0;
    for (int i = 0; i < cfg->njoined; i++)
        free(cfg->joined[i]);
    cfg->njoined = 0;
}

void dsend_option_value(const dsend_option *o, const dsend_config *cfg, char *buf, size_t n)
{
    char a[40], b[40];
    switch (o->type) {
    case DSEND_OPT_FLAG:
        snprintf(buf, n, "%s", *FIELD(cfg, o->offset, int) ? "yes" : "no");
        return;
    case DSEND_OPT_STRING:
    case DSEND_OPT_LIST:
    case DSEND_OPT_CHOICE: {
        const char *s = *FIELD(cfg, o->offset, const char *);
        snprintf(buf, n, "%s", s ? s : (o->unset ? o->unset : "(none)"));
        return;
    }
    case DSEND_OPT_COUNT: {
        int64_t v = *FIELD(cfg, o->offset, int64_t);
        if (v == 0 && o->unset)
            snprintf(buf, n, "%s", o->unset);
        else
            snprintf(buf, n, "%lld", (long long)v);
        return;
    }
    case DSEND_OPT_REAL: {
        /* the shortest form that reads back exactly */
        double v = *FIELD(cfg, o->offset, double);
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(buf, n, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
        return;
    }
    case DSEND_OPT_SIZE:
        snprintf(buf, n, "%s", dsend_format_size(*FIELD(cfg, o->offset, uint64_t), a, sizeof a));
        return;
    case DSEND_OPT_SHARE: {
        uint64_t v = *FIELD(cfg, o->offset, uint64_t);
        double f = *FIELD(cfg, o->offset2, double);
        if (v)
            snprintf(buf, n, "%s", dsend_format_size(v, a, sizeof a));
        else if (f > 0) /* the shortest form that reads back exactly */
            for (int prec = 6; prec <= 17; prec++) {
                snprintf(buf, n, "%.*g%%", prec, f * 100);
                if (strtod(buf, NULL) / 100 == f)
                    break;
            }
        else
            snprintf(buf, n, "%s", o->unset ? o->unset : "(none)");
        return;
    }
    case DSEND_OPT_RATE: {
        uint64_t v = *FIELD(cfg, o->offset, uint64_t);
        snprintf(buf, n, "%s", v == 0 && o->unset ? o->unset : dsend_format_rate(v, a, sizeof a));
        return;
    }
    case DSEND_OPT_DURATION: {
        int64_t v = *FIELD(cfg, o->offset, int64_t);
        snprintf(buf, n, "%s", v == 0 && o->unset ? o->unset : dsend_format_duration(v, a, sizeof a));
        return;
    }
    case DSEND_OPT_RATE_RANGE: {
        uint64_t lo = *FIELD(cfg, o->offset, uint64_t), hi = *FIELD(cfg, o->offset2, uint64_t);
        dsend_format_rate(lo, a, sizeof a);
        if (lo == hi)
            snprintf(buf, n, "%s", a);
        else
            snprintf(buf, n, "%s:%s", a, dsend_format_rate(hi, b, sizeof b));
        return;
    }
    case DSEND_OPT_DURATION_RANGE: {
        int64_t lo = *FIELD(cfg, o->offset, int64_t), hi = *FIELD(cfg, o->offset2, int64_t);
        if (lo == 0 && hi == 0 && o->unset) {
            snprintf(buf, n, "%s", o->unset);
            return;
        }
        dsend_format_duration(lo, a, sizeof a);
        if (lo == hi)
            snprintf(buf, n, "%s", a);
        else
            snprintf(buf, n, "%s:%s", a, dsend_format_duration(hi, b, sizeof b));
        return;
    }
    }
    snprintf(buf, n, "?");
}

void dsend_options_help(unsigned cmd, FILE *out)
{
    fprintf(out, "Options:\n");
    for (const dsend_option *o = dsend_options; o->name; o++) {
        if (!(o->commands & cmd))
            continue;
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        fprintf(out, "  %-28s %s", left, o->help);
        if (o->defval)
            fprintf(out, " [default: %s]", o->defval);
        else if (o->unset)
            fprintf(out, " [default: %s]", o->unset);
        fputc('\n', out);
    }
    fprintf(out, "Sizes take units (1316, 256KiB, 4MiB, 10G), rates too (4Mbit/s, 10Gbit/s, 25Mbps),\n"
                 "and durations (2s, 500ms, 30min, 1h; a bare number is seconds).\n");
}

void dsend_options_print(unsigned cmd, const dsend_config *cfg, FILE *out, const char *prefix)
{
    for (const dsend_option *o = dsend_options; o->name; o++) {
        if (!(o->commands & cmd) || o->type == DSEND_OPT_FLAG || o->unprinted)
            continue;
        char v[128];
        dsend_option_value(o, cfg, v, sizeof v);
        fprintf(out, "%s%-12s = %s\n", prefix, o->name, v);
    }
}
