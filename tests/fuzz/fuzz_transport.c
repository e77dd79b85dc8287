/* The Transport header parser (SETUP): any string, the header as a
 * client may send it. */
#include "dsend/rtsp.h"
#include "fuzz.h"

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
    return 0;
}
