/* libFuzzer harnesses (tests/fuzz/fuzz_*.c): each defines
 * LLVMFuzzerTestOneInput.  Built two ways: with clang's libFuzzer by
 * tests/fuzz/run.sh (`make fuzz`), and with the project's compiler against
 * replay.c, whose main feeds every file of the seed corpus and the crashers
 * found so far (tests/fuzz/corpus/NAME/) to the harness once (`make check`).
 * A broken invariant is a finding: FUZZ_ASSERT aborts with its line. */
#ifndef DSEND_FUZZ_H
#define DSEND_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* The input as a NUL-terminated string (at most cap - 1 bytes of it, stopping
 * at a NUL as a C string would). */
static inline size_t fuzz_cstr(const uint8_t *data, size_t size, char *buf, size_t cap)
{
    size_t n = 0;
    while (n < size && n + 1 < cap && data[n])
        n++;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)data[i];
    buf[n] = '\0';
    return n;
}

#endif
