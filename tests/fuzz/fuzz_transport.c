/* The Transport header parser (SETUP): any string, the header as a
 * client may send it; its destination as serve reads it (an IPv4 or IPv6
 * address, src/util/netaddr.c), which prints back to itself. */
#include "dsend/rtsp.h"
#include "fuzz.h"
#include "util/netaddr.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char h[1024];
    fuzz_cstr(data, size, h, sizeof h);
    dsend_rtsp_transport t;
    if (dsend_rtsp_parse_transport(h, &t) != 0)
        return 0;
    FUZZ_ASSERT((t.client_port[0] == -1 && t.client_port[1] == -1) ||
                (t.client_port[0] >= 1 && t.client_port[0] <= 65535 && t.client_port[1] >= 1 &&
                 t.client_port[1] <= 65535));
    FUZZ_ASSERT(!(t.udp_unicast && t.multicast));
    FUZZ_ASSERT(strnlen(t.destination, sizeof t.destination) < sizeof t.destination);
    dsend_netaddr a, back;
    char text[DSEND_NETADDR_STRLEN];
    if (t.destination[0] && dsend_netaddr_parse(t.destination, &a) == 0) {
        FUZZ_ASSERT(a.family == AF_INET || a.family == AF_INET6);
        dsend_netaddr_format(&a, text, sizeof text);
        FUZZ_ASSERT(dsend_netaddr_parse(text, &back) == 0 && dsend_netaddr_equal(&a, &back));
    }
    return 0;
}
