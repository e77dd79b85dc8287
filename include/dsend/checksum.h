/* CRC32C (Castagnoli), the per-block checksum of the library.
 * Hardware (AVX-512 VPCLMULQDQ, else SSE4.2) when the CPU has it, a
 * slice-by-8 table otherwise; all give the same value (crc32c("123456789") == 0xE3069283). */
#ifndef DSEND_CHECKSUM_H
#define DSEND_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: crc = dsend_crc32c(crc, p, n); start with crc = 0. */
uint32_t dsend_crc32c(uint32_t crc, const void *buf, size_t len);
/* The paths, exposed so tests can compare them: the portable table, the
 * SSE4.2 crc32 instruction (three streams), and AVX-512 VPCLMULQDQ folding
 * (dsend_crc32c's choice where the CPU has it); a path the CPU lacks gives
 * the next one's value. */
uint32_t dsend_crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t dsend_crc32c_sse42(uint32_t crc, const void *buf, size_t len);
uint32_t dsend_crc32c_avx512(uint32_t crc, const void *buf, size_t len);

/* splitmix64: the mixer used for synthetic content and hashing. */
static inline uint64_t dsend_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#endif
