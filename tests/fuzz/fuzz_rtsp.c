/* The RTSP request parser as a connection drives it: requests parsed one
 * after another from a buffer of at most DSEND_RTSP_MAX_REQUEST bytes,
 * each request's URL, Transport and Range handed to their parsers. */
#include "dsend/rtsp.h"
#include "fuzz.h"

#include <ctype.h>
#include <string.h>

static void check_str(const char *s, size_t cap) { FUZZ_ASSERT(strnlen(s, cap) < cap); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        size_t n = size - off;
        if (n > DSEND_RTSP_MAX_REQUEST)
            n = DSEND_RTSP_MAX_REQUEST;
        char *b = malloc(n); /* exact size: ASan sees any read past it */
        memcpy(b, data + off, n);
        dsend_rtsp_request r;
        int pr = dsend_rtsp_parse(b, n, &r);
        free(b);
        FUZZ_ASSERT(pr == 1 || pr == 0 || pr == -400 || pr == -413 || pr == -431 ||
                    pr == -505);
        if (pr == 0)
            FUZZ_ASSERT(n < DSEND_RTSP_MAX_REQUEST); /* a full buffer is never "more" */
        if (pr != 1)
            break;
        FUZZ_ASSERT(r.length > 0 && r.length <= n);
        FUZZ_ASSERT(r.cseq >= -1 && r.cseq <= 1000000000);
        check_str(r.method, sizeof r.method);
        check_str(r.url, sizeof r.url);
        check_str(r.session, sizeof r.session);
        check_str(r.transport, sizeof r.transport);
        check_str(r.range, sizeof r.range);
        check_str(r.accept, sizeof r.accept);
        FUZZ_ASSERT(r.method[0]);
        for (const char *q = r.method; *q; q++)
            FUZZ_ASSERT(isupper((unsigned char)*q) || *q == '_');
        for (const char *q = r.url; *q; q++)
            FUZZ_ASSERT((unsigned char)*q > ' ' && (unsigned char)*q < 127);

        char name[66];
        if (dsend_rtsp_url_asset(r.url, name, sizeof name) == 0) {
            FUZZ_ASSERT(name[0] && strlen(name) < sizeof name);
            FUZZ_ASSERT(!strchr(name, '/')); /* never a path */
        }
        dsend_rtsp_transport t;
        if (dsend_rtsp_parse_transport(r.transport, &t) == 0 && t.client_port[0] >= 0)
            FUZZ_ASSERT(t.client_port[0] >= 1 && t.client_port[0] <= 65535 &&
                        t.client_port[1] >= 1 && t.client_port[1] <= 65535);
        int64_t start, end;
        if (dsend_rtsp_parse_range(r.range, &start, &end) == 0)
            FUZZ_ASSERT(start >= 0 && (end == -1 || end > start));
        off += r.length;
    }
    return 0;
}
