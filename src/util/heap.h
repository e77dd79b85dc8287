/* Binary min-heaps over plain arrays, written once for the queues that
 * need one (the event core's pending events, a sender's send requests, a
 * virtual client's runs and arrivals, the UDP pacer's packets).  Macros, so
 * each queue keeps its element type and its own comparison inlined:
 * BEFORE(a, b) is true when *a comes first.  Sifting moves a hole rather
 * than swapping, one copy per level instead of three. */
#ifndef DSEND_HEAP_H
#define DSEND_HEAP_H

#include <stddef.h>

/* v[n - 1] was just appended: sift it up. */
#define DSEND_HEAP_UP(T, v, n, BEFORE)                                           \
    do {                                                                         \
        size_t i_ = (size_t)(n) - 1;                                             \
        T x_ = (v)[i_];                                                          \
        while (i_ > 0) {                                                         \
            size_t p_ = (i_ - 1) / 2;                                            \
            if (!(BEFORE(&x_, &(v)[p_])))                                        \
                break;                                                           \
            (v)[i_] = (v)[p_];                                                   \
            i_ = p_;                                                             \
        }                                                                        \
        (v)[i_] = x_;                                                            \
    } while (0)

/* v[0] changed (its key grew): sift it down. */
#define DSEND_HEAP_DOWN(T, v, n, BEFORE)                                         \
    do {                                                                         \
        size_t i_ = 0, n_ = (size_t)(n);                                         \
        if (n_ < 2)                                                              \
            break;                                                               \
        T x_ = (v)[0];                                                           \
        for (;;) {                                                               \
            size_t m_ = 2 * i_ + 1;                                              \
            if (m_ >= n_)                                                        \
                break;                                                           \
            if (m_ + 1 < n_ && (BEFORE(&(v)[m_ + 1], &(v)[m_])))                 \
                m_++;                                                            \
            if (!(BEFORE(&(v)[m_], &x_)))                                        \
                break;                                                           \
            (v)[i_] = (v)[m_];                                                   \
            i_ = m_;                                                             \
        }                                                                        \
        (v)[i_] = x_;                                                            \
    } while (0)

/* Take the first element into *out (n > 0); n shrinks by one. */
#define DSEND_HEAP_POP(T, v, n, out, BEFORE)                                     \
    do {                                                                         \
        *(out) = (v)[0];                                                         \
        (v)[0] = (v)[--(n)];                                                     \
        DSEND_HEAP_DOWN(T, v, n, BEFORE);                                        \
    } while (0)

#endif
