/* Synthetic asset content: a deterministic function of (seed, offset), so a
 * synthetic library stores no bytes, yet every block has content and a
 * checksum that a receiver can verify. */
#include "dsend/checksum.h"
#include "dsend/library.h"

#include <string.h>

static inline uint64_t word_at(uint64_t seed, uint64_t w)
{
    return dsend_mix64(seed ^ dsend_mix64(w));
}

void dsend_synthetic_fill(const dsend_asset *a, uint64_t offset, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len) {
        uint64_t w = offset / 8, v = word_at(a->seed, w);
        unsigned k = (unsigned)(offset % 8);
        unsigned char bytes[8];
        for (int i = 0; i < 8; i++)
            bytes[i] = (unsigned char)(v >> (8 * i)); /* little-endian on any host */
        size_t n = 8 - k < len ? 8 - k : len;
        memcpy(p, bytes + k, n);
        p += n;
        offset += n;
        len -= n;
    }
}

uint32_t dsend_synthetic_block_crc(const dsend_asset *a, uint64_t b)
{
    unsigned char buf[16384];
    uint64_t off = b * a->block_size, left = dsend_asset_block_len(a, b);
    uint32_t crc = 0;
    while (left) {
        size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
        dsend_synthetic_fill(a, off, buf, n);
        crc = dsend_crc32c(crc, buf, n);
        off += n;
        left -= n;
    }
    return crc;
}
