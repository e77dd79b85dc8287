/* The RTSP parsers (dsend/rtsp.h), one group each: a whole request, the
 * URL's asset, Transport and Range; and the reason of every status the
 * server sends.  Pure functions: every answer here is worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dsend/rtsp.h"

static int parse(const char *text, dsend_rtsp_request *r)
{
    return dsend_rtsp_parse(text, strlen(text), r);
}

/* A whole request: method, URL, the headers the server reads (any case,
 * trimmed), and the bytes it takes, so the next request starts after it. */
static void request_fields(void **state)
{
    (void)state;
    dsend_rtsp_request r;
    const char *req = "SETUP rtsp://127.0.0.1:8555/sample/trackID=0 RTSP/1.0\r\n"
                      "cseq:   42  \r\n"
                      "Session: 0123abcd-1;timeout=60\r\n"
                      "TRANSPORT: RTP/AVP;unicast;client_port=5000-5001\r\n"
                      "Range: npt=1.5-\r\n"
                      "Accept: application/sdp\r\n"
                      "X-Other: ignored\r\n\r\n"
                      "OPTIONS * RTSP/1.0\r\n";
    assert_int_equal(parse(req, &r), 1);
    assert_string_equal(r.method, "SETUP");
    assert_string_equal(r.url, "rtsp://127.0.0.1:8555/sample/trackID=0");
    assert_int_equal(r.cseq, 42);
    assert_string_equal(r.session, "0123abcd-1"); /* the id, not its parameters */
    assert_string_equal(r.transport, "RTP/AVP;unicast;client_port=5000-5001");
    assert_string_equal(r.range, "npt=1.5-");
    assert_string_equal(r.accept, "application/sdp");
    assert_int_equal(r.length, strstr(req, "OPTIONS *") - req);
}

/* Absent headers: CSeq -1, strings empty. */
static void request_defaults(void **state)
{
    (void)state;
    dsend_rtsp_request r;
    assert_int_equal(parse("OPTIONS * RTSP/1.0\r\n\r\n", &r), 1);
    assert_int_equal(r.cseq, -1);
    assert_string_equal(r.session, "");
    assert_string_equal(r.transport, "");
    assert_string_equal(r.range, "");
}

/* A body (Content-Length) is waited for, then taken whole. */
static void request_body(void **state)
{
    (void)state;
    dsend_rtsp_request r;
    const char *head = "SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 5\r\n\r\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%sab", head);
    assert_int_equal(parse(buf, &r), 0);
    snprintf(buf, sizeof buf, "%sabcdeXYZ", head);
    assert_int_equal(parse(buf, &r), 1);
    assert_int_equal(r.length, strlen(head) + 5);
}

/* Not whole yet: 0 (more bytes needed), for every cut of a request. */
static void request_incomplete(void **state)
{
    (void)state;
    dsend_rtsp_request r;
    const char *req = "PLAY rtsp://h/a RTSP/1.0\r\nCSeq: 3\r\n\r\n";
    for (size_t n = 0; n < strlen(req); n++)
        assert_int_equal(dsend_rtsp_parse(req, n, &r), 0);
    assert_int_equal(dsend_rtsp_parse(req, strlen(req), &r), 1);
}

/* Malformed: the status the server answers, negated. */
static void request_malformed(void **state)
{
    (void)state;
    dsend_rtsp_request r;
    static const struct {
        const char *text;
        int want;
    } cases[] = {
        {"hello there\r\n\r\n", -400},                              /* no URL and version */
        {"OPTIONS rtsp://h/ RTSP/1.0 extra\r\n\r\n", -400},         /* a third space */
        {"options rtsp://h/ RTSP/1.0\r\n\r\n", -400},               /* method not upper case */
        {"OPTIONS  RTSP/1.0\r\n\r\n", -400},                        /* empty URL */
        {"OPTIONS rtsp://h/\x01 RTSP/1.0\r\n\r\n", -400},           /* control byte in the URL */
        {"OPTIONS rtsp://h/ HTTP/1.1\r\n\r\n", -400},               /* not RTSP */
        {"OPTIONS rtsp://h/ RTSP/2.0\r\n\r\n", -505},               /* another version */
        {"OPTIONS rtsp://h/ RTSP/1.0\r\nno colon\r\n\r\n", -400},   /* header without a colon */
        {"OPTIONS rtsp://h/ RTSP/1.0\r\n: v\r\n\r\n", -400},        /* empty header name */
        {"OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: x\r\n\r\n", -400},    /* CSeq not a number */
        {"OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: -1\r\n\r\n", -400},   /* negative CSeq */
        {"OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: 1\nX: y\r\n\r\n", -400}, /* bare LF */
        {"OPTIONS rtsp://h/ RTSP/1.0\r\nContent-Length: 9000\r\n\r\n", -413},
        {"OPTIONS rtsp://h/ RTSP/1.0\r\nContent-Length: -3\r\n\r\n", -400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int got = parse(cases[i].text, &r);
        if (got != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i, got, cases[i].want);
    }
}

/* Bounded: a header block beyond DSEND_RTSP_MAX_REQUEST, complete or
 * not, or more than DSEND_RTSP_MAX_HEADERS headers, is 431. */
static void request_bounds(void **state)
{
    (void)state;
    dsend_rtsp_request r;
    static char big[DSEND_RTSP_MAX_REQUEST + 64];
    memset(big, 'a', sizeof big);
    assert_int_equal(dsend_rtsp_parse(big, DSEND_RTSP_MAX_REQUEST, &r), -431);
    assert_int_equal(dsend_rtsp_parse(big, DSEND_RTSP_MAX_REQUEST - 1, &r), 0);
    int n = snprintf(big, sizeof big, "OPTIONS * RTSP/1.0\r\nX: ");
    memset(big + n, 'b', DSEND_RTSP_MAX_REQUEST);
    memcpy(big + n + DSEND_RTSP_MAX_REQUEST - 8, "\r\n\r\n", 4);
    assert_int_equal(dsend_rtsp_parse(big, (size_t)n + DSEND_RTSP_MAX_REQUEST - 4, &r), -431);
    char many[4096];
    n = snprintf(many, sizeof many, "OPTIONS * RTSP/1.0\r\n");
    for (int i = 0; i < DSEND_RTSP_MAX_HEADERS; i++)
        n += snprintf(many + n, sizeof many - (size_t)n, "X%d: v\r\n", i);
    snprintf(many + n, sizeof many - (size_t)n, "\r\n");
    assert_int_equal(parse(many, &r), 1); /* exactly the limit */
    snprintf(many + n, sizeof many - (size_t)n, "Y: v\r\n\r\n");
    assert_int_equal(parse(many, &r), -431);
    /* an overlong value is cut to its field, never past it */
    n = snprintf(big, sizeof big, "OPTIONS * RTSP/1.0\r\nSession: ");
    memset(big + n, 's', 100);
    snprintf(big + n + 100, sizeof big - (size_t)n - 100, "\r\n\r\n");
    assert_int_equal(parse(big, &r), 1);
    assert_int_equal(strlen(r.session), sizeof r.session - 1);
}

/* The URL's first path segment names the asset; nothing else does. */
static void url_asset(void **state)
{
    (void)state;
    char name[16];
    assert_int_equal(dsend_rtsp_url_asset("rtsp://127.0.0.1:8554/sample", name, sizeof name), 0);
    assert_string_equal(name, "sample");
    assert_int_equal(dsend_rtsp_url_asset("rtsp://h:1/sample/trackID=0", name, sizeof name), 0);
    assert_string_equal(name, "sample");
    assert_int_equal(dsend_rtsp_url_asset("RTSP://h/movie?x=1", name, sizeof name), 0);
    assert_string_equal(name, "movie");
    assert_int_equal(dsend_rtsp_url_asset("/plain", name, sizeof name), 0);
    assert_string_equal(name, "plain");
    assert_int_equal(dsend_rtsp_url_asset("rtsp://h:1/", name, sizeof name), -1);
    assert_int_equal(dsend_rtsp_url_asset("rtsp://h:1", name, sizeof name), -1);
    assert_int_equal(dsend_rtsp_url_asset("rtsp://h/0123456789abcdef", name, sizeof name), -1);
    assert_int_equal(dsend_rtsp_url_asset("rtsp://h/0123456789abcde", name, sizeof name), 0);
    /* a traversal is only a name the catalogue will not know */
    assert_int_equal(dsend_rtsp_url_asset("rtsp://h/..%2Fetc/passwd", name, sizeof name), 0);
    assert_string_equal(name, "..%2Fetc");
}

static void transport(void **state)
{
    (void)state;
    dsend_rtsp_transport t;
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP;unicast;client_port=5000-5001", &t), 0);
    assert_true(t.udp_unicast && !t.tcp && !t.multicast);
    assert_int_equal(t.client_port[0], 5000);
    assert_int_equal(t.client_port[1], 5001);
    assert_string_equal(t.destination, "");
    /* one port: RTCP is the next; the first of several alternatives */
    assert_int_equal(dsend_rtsp_parse_transport(
                         " rtp/avp/udp;unicast;client_port=7000 , RTP/AVP/TCP;interleaved=0-1",
                         &t),
                     0);
    assert_true(t.udp_unicast && !t.tcp);
    assert_int_equal(t.client_port[0], 7000);
    assert_int_equal(t.client_port[1], 7001);
    assert_int_equal(
        dsend_rtsp_parse_transport("RTP/AVP;unicast;destination=192.0.2.7;client_port=9-10", &t), 0);
    assert_string_equal(t.destination, "192.0.2.7");
    /* no client port: -1 (the server answers 461) */
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP;unicast", &t), 0);
    assert_int_equal(t.client_port[0], -1);
    assert_int_equal(t.client_port[1], -1);
    /* TCP, either way it is said */
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP/TCP;unicast;interleaved=0-1", &t), 0);
    assert_true(t.tcp);
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP;unicast;interleaved=0-1", &t), 0);
    assert_true(t.tcp);
    /* multicast is not unicast */
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP;multicast;client_port=5000-5001", &t), 0);
    assert_true(t.multicast && !t.udp_unicast);
    /* malformed */
    assert_int_equal(dsend_rtsp_parse_transport("RAW/RAW/UDP;unicast", &t), -1);
    assert_int_equal(dsend_rtsp_parse_transport("", &t), 0);
    assert_false(t.udp_unicast);
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP;unicast;client_port=0-1", &t), -1);
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP;unicast;client_port=65536", &t), -1);
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP;unicast;client_port=5000-70000", &t), -1);
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP;unicast;client_port=50x0", &t), -1);
    assert_int_equal(dsend_rtsp_parse_transport("RTP/AVP;unicast;client_port=", &t), -1);
    /* numbers past any integer type */
    assert_int_equal(
        dsend_rtsp_parse_transport("RTP/AVP;unicast;client_port=99999999999999999999", &t), -1);
    assert_int_equal(
        dsend_rtsp_parse_transport("RTP/AVP;unicast;client_port=5000-99999999999999999999", &t),
        -1);
    assert_int_equal(
        dsend_rtsp_parse_transport("RTP/AVP;unicast;client_port=-18446744073709551615", &t), -1);
}

static void range(void **state)
{
    (void)state;
    int64_t s, e;
    assert_int_equal(dsend_rtsp_parse_range("npt=1.5-", &s, &e), 0);
    assert_int_equal(s, 1500000000);
    assert_int_equal(e, -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=0-20.25", &s, &e), 0);
    assert_int_equal(s, 0);
    assert_int_equal(e, 20250000000);
    assert_int_equal(dsend_rtsp_parse_range("  NPT=now-", &s, &e), 0);
    assert_int_equal(s, 0);
    assert_int_equal(e, -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=7", &s, &e), 0);
    assert_int_equal(s, 7000000000);
    assert_int_equal(e, -1);
    /* ns resolution, truncated */
    assert_int_equal(dsend_rtsp_parse_range("npt=0.000000001-0.000000002", &s, &e), 0);
    assert_int_equal(s, 1);
    assert_int_equal(e, 2);
    /* not npt: 1, the caller plays from where it is */
    assert_int_equal(dsend_rtsp_parse_range("clock=19961108T143720.25Z-", &s, &e), 1);
    assert_int_equal(dsend_rtsp_parse_range("", &s, &e), 1);
    /* malformed: -1 (457) */
    assert_int_equal(dsend_rtsp_parse_range("npt=", &s, &e), -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=abc-", &s, &e), -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=-5", &s, &e), -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=5-3", &s, &e), -1);  /* end before start */
    assert_int_equal(dsend_rtsp_parse_range("npt=5-5", &s, &e), -1);  /* empty */
    assert_int_equal(dsend_rtsp_parse_range("npt=1x-", &s, &e), -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=1-2x", &s, &e), -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=inf-", &s, &e), -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=1e10-", &s, &e), -1); /* absurd */
    assert_int_equal(dsend_rtsp_parse_range("npt=1e400-", &s, &e), -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=nan-", &s, &e), -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=1-nan", &s, &e), -1);
    assert_int_equal(dsend_rtsp_parse_range("npt=1-inf", &s, &e), -1);
}

/* Every status the server sends has its RFC 2326 reason. */
static void reasons(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *reason;
    } cases[] = {
        {200, "OK"},
        {302, "Moved Temporarily"},
        {400, "Bad Request"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {413, "Request Entity Too Large"},
        {431, "Request Header Fields Too Large"},
        {453, "Not Enough Bandwidth"},
        {454, "Session Not Found"},
        {455, "Method Not Valid in This State"},
        {457, "Invalid Range"},
        {459, "Aggregate Operation Not Allowed"},
        {461, "Unsupported Transport"},
        {501, "Not Implemented"},
        {505, "RTSP Version Not Supported"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_string_equal(dsend_rtsp_reason(cases[i].status), cases[i].reason);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_fields),    cmocka_unit_test(request_defaults),
        cmocka_unit_test(request_body),      cmocka_unit_test(request_incomplete),
        cmocka_unit_test(request_malformed), cmocka_unit_test(request_bounds),
        cmocka_unit_test(url_asset),         cmocka_unit_test(transport),
        cmocka_unit_test(range),             cmocka_unit_test(reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
