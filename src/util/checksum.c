/* CRC32C: slice-by-8 tables, and the SSE4.2 instruction where the CPU has
 * it (several times faster; the loader checksums every block it reads). */
#include "dsend/checksum.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#include <immintrin.h>
#endif

#define POLY 0x82f63b78u /* Castagnoli, reflected */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int t = 1; t < 8; t++)
            table[t][n] = (table[t - 1][n] >> 8) ^ table[0][table[t - 1][n] & 0xff];
}

uint32_t dsend_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&table_once, table_init);
    const unsigned char *p = buf;
    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc; /* little-endian: the low 4 bytes take the CRC */
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^
              table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
              table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__) && defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The instruction's latency is three times its throughput: three streams of
 * SEG bytes interleaved keep it busy, and the register state of one stream
 * is moved past the next with a table (the state after SEG zero bytes is
 * linear in the state before: shift[k][b] is where byte b at position k
 * goes). */
#define SEG 4096

static uint32_t shift[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2"))) static uint32_t zeros(uint32_t c)
{
    uint64_t x = c;
    for (int i = 0; i < SEG / 8; i++)
        x = __builtin_ia32_crc32di(x, 0);
    return (uint32_t)x;
}

static void shift_init(void)
{
    uint32_t basis[32];
    for (int i = 0; i < 32; i++)
        basis[i] = zeros(1u << i);
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int i = 0; i < 8; i++)
                if (b >> i & 1)
                    v ^= basis[8 * k + i];
            shift[k][b] = v;
        }
}

static inline uint32_t shift_seg(uint32_t c)
{
    return shift[0][c & 0xff] ^ shift[1][c >> 8 & 0xff] ^ shift[2][c >> 16 & 0xff] ^
           shift[3][c >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *buf,
                                                            size_t len)
{
    const unsigned char *p = buf;
    uint64_t c = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    if (len >= 3 * SEG) {
        pthread_once(&shift_once, shift_init);
        do {
            uint64_t c1 = 0, c2 = 0;
            for (size_t i = 0; i < SEG; i += 8) {
                uint64_t w0, w1, w2;
                memcpy(&w0, p + i, 8);
                memcpy(&w1, p + SEG + i, 8);
                memcpy(&w2, p + 2 * SEG + i, 8);
                c = __builtin_ia32_crc32di(c, w0);
                c1 = __builtin_ia32_crc32di(c1, w1);
                c2 = __builtin_ia32_crc32di(c2, w2);
            }
            c = shift_seg(shift_seg((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
            p += 3 * SEG;
            len -= 3 * SEG;
        } while (len >= 3 * SEG);
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    while (len--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

/* AVX-512 carry-less multiplication (VPCLMULQDQ) folds 256 bytes per step
 * in sixteen independent 128-bit lanes, several times the rate of the crc32
 * instruction (which one core retires once a cycle): the loader checks every
 * block it reads.  A lane X (bit i = the coefficient of x^(127-i), the
 * instruction's bit order) moved F bits on is A x^(F+64) + B x^F for its low
 * and high halves A and B; carry-less products in this bit order carry an
 * extra factor x, hence the constants x^(F+63) and x^(F-1) mod P.  What is
 * left, 128 bits, two crc32 instructions reduce. */
#define FOLD_STEP 256

static uint64_t fold_k[16][2]; /* [d]: moves a lane 128 * d bits on; [0]: 2048 */
static pthread_once_t fold_once = PTHREAD_ONCE_INIT;

/* x^n mod P in the instruction's bit order, placed as the high half of a
 * carry-less factor */
static uint64_t xpow(unsigned n)
{
    uint32_t c = 0x80000000u; /* x^0 */
    while (n--)
        c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
    return (uint64_t)c << 32;
}

static void fold_init(void)
{
    for (unsigned d = 0; d < 16; d++) {
        unsigned f = 128 * (d ? d : 16);
        fold_k[d][0] = xpow(f + 63);
        fold_k[d][1] = xpow(f - 1);
    }
}

__attribute__((target("avx512f,vpclmulqdq"))) static inline __m512i
fold512(__m512i x, __m512i k, __m512i data)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                     _mm512_clmulepi64_epi128(x, k, 0x11), data, 0x96);
}

__attribute__((target("pclmul,sse4.2"))) static inline __m128i fold128(__m128i x, unsigned d,
                                                                      __m128i data)
{
    __m128i k = _mm_loadu_si128((const __m128i *)fold_k[d]);
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
                                       _mm_clmulepi64_si128(x, k, 0x11)),
                         data);
}

__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.2"))) static uint32_t
crc32c_avx512(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (len < 4 * FOLD_STEP)
        return crc32c_hw(crc, buf, len);
    pthread_once(&fold_once, fold_init);
    __m512i x0 = _mm512_loadu_si512(p), x1 = _mm512_loadu_si512(p + 64),
            x2 = _mm512_loadu_si512(p + 128), x3 = _mm512_loadu_si512(p + 192);
    x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)~crc)));
    p += FOLD_STEP;
    len -= FOLD_STEP;
    const __m512i k = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)fold_k[0]));
    while (len >= FOLD_STEP) {
        x0 = fold512(x0, k, _mm512_loadu_si512(p));
        x1 = fold512(x1, k, _mm512_loadu_si512(p + 64));
        x2 = fold512(x2, k, _mm512_loadu_si512(p + 128));
        x3 = fold512(x3, k, _mm512_loadu_si512(p + 192));
        p += FOLD_STEP;
        len -= FOLD_STEP;
    }
    /* the sixteen lanes, in the order of the bytes, onto the last one */
    __m128i lane[16];
    _mm512_storeu_si512(lane, x0);
    _mm512_storeu_si512(lane + 4, x1);
    _mm512_storeu_si512(lane + 8, x2);
    _mm512_storeu_si512(lane + 12, x3);
    __m128i x = lane[15];
    for (unsigned m = 0; m < 15; m++)
        x = fold128(lane[m], 15 - m, x);
    uint64_t c = __builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(x));
    c = __builtin_ia32_crc32di(c, (uint64_t)_mm_extract_epi64(x, 1));
    return crc32c_hw(~(uint32_t)c, p, len); /* the tail, under 256 bytes */
}

/* 0: the table, 1: the crc32 instruction, 2: folding */
static int cpu_level;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_init(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        cpu_level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") &&
                            __builtin_cpu_supports("pclmul")
                        ? 2
                        : 1;
}

/* the fastest path up to `level` that the CPU has */
static uint32_t crc_upto(int level, uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&cpu_once, cpu_init);
    if (level > cpu_level)
        level = cpu_level;
    return level == 2 ? crc32c_avx512(crc, buf, len)
           : level   ? crc32c_hw(crc, buf, len)
                     : dsend_crc32c_sw(crc, buf, len);
}

uint32_t dsend_crc32c(uint32_t crc, const void *buf, size_t len)
{
    return crc_upto(2, crc, buf, len);
}

uint32_t dsend_crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
    return crc_upto(1, crc, buf, len);
}

uint32_t dsend_crc32c_avx512(uint32_t crc, const void *buf, size_t len)
{
    return crc_upto(2, crc, buf, len);
}
#else
uint32_t dsend_crc32c(uint32_t crc, const void *buf, size_t len)
{
    return dsend_crc32c_sw(crc, buf, len);
}

uint32_t dsend_crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
    return dsend_crc32c_sw(crc, buf, len);
}

uint32_t dsend_crc32c_avx512(uint32_t crc, const void *buf, size_t len)
{
    return dsend_crc32c_sw(crc, buf, len);
}
#endif
