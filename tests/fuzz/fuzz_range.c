/* The Range header parser (PLAY): any string.  A range it accepts starts at
 * a finite, non-negative time and ends after it (or is open). */
#include "dsend/rtsp.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char h[256];
    fuzz_cstr(data, size, h, sizeof h);
    int64_t start = -7, end = -7;
    int rc = dsend_rtsp_parse_range(h, &start, &end);
    FUZZ_ASSERT(rc == 0 || rc == 1 || rc == -1);
    if (rc == 0)
        FUZZ_ASSERT(start >= 0 && start <= INT64_C(1000000000) * 1000000000 &&
                    (end == -1 || end > start));
    return 0;
}
