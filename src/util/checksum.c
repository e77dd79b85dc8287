/* CRC32C: slice-by-8 tables, and the SSE4.2 instruction where the CPU has
 * it (several times faster; the loader checksums every block it reads). */
#include "dsend/checksum.h"

#include <pthread.h>
#include <string.h>

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

uint32_t dsend_crc32c(uint32_t crc, const void *buf, size_t len)
{
    static int have_hw = -1;
    if (have_hw < 0) {
        __builtin_cpu_init();
        have_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
    return have_hw ? crc32c_hw(crc, buf, len) : dsend_crc32c_sw(crc, buf, len);
}
#else
uint32_t dsend_crc32c(uint32_t crc, const void *buf, size_t len)
{
    return dsend_crc32c_sw(crc, buf, len);
}
#endif
