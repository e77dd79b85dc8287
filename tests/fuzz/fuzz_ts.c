/* The MPEG-TS scanner ingest runs on every input file. */
#include "dsend/error.h"
#include "dsend/ts.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsend_ts_info info;
    int rc = dsend_ts_scan("fuzz.ts", data, size, &info);
    if (rc) {
        FUZZ_ASSERT(rc == DSEND_EFORMAT && !strchr(dsend_errmsg(), '\n'));
        return 0;
    }
    FUZZ_ASSERT(size > 0 && info.packets * DSEND_TS_PACKET == size);
    FUZZ_ASSERT(info.npes <= DSEND_TS_MAX_PES);
    FUZZ_ASSERT(info.pcr_pid >= -1 && info.pcr_pid < 8192);
    FUZZ_ASSERT(info.bitrate_bps || !info.duration_ns);
    for (size_t off = 0; off < size; off += DSEND_TS_PACKET) {
        uint64_t pcr;
        FUZZ_ASSERT(dsend_ts_packet_pcr(data + off, &pcr) >= 0);
    }
    /* the index is what a library accepts: increasing packets within the bytes */
    FUZZ_ASSERT((info.nrap == 0) == (info.rap == NULL));
    for (uint64_t i = 0; i < info.nrap; i++)
        FUZZ_ASSERT(info.rap[i] % DSEND_TS_PACKET == 0 && info.rap[i] < size &&
                    (i == 0 || info.rap[i] > info.rap[i - 1]));
    free(info.rap);
    return 0;
}
