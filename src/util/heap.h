/* Binary min-heaps over plain arrays, written once for the three queues that
 * need one (the event core's pending events, a sender's send requests, the
 * UDP pacer's packets).  Macros, so each queue keeps its element type and
 * its own comparison inlined: BEFORE(a, b) is true when *a comes first. */
#ifndef DSEND_HEAP_H
#define DSEND_HEAP_H

#include <stddef.h>

/* v[n - 1] was just appended: sift it up. */
#define DSEND_HEAP_UP(T, v, n, BEFORE)                                           \
    do {                                                                         \
        size_t i_ = (size_t)(n) - 1;                                             \
        while (i_ > 0) {                                                         \
            size_t p_ = (i_ - 1) / 2;                                            \
            if (!(BEFORE(&(v)[i_], &(v)[p_])))                                   \
                break;                                                           \
            T t_ = (v)[i_];                                                      \
            (v)[i_] = (v)[p_];                                                   \
            (v)[p_] = t_;                                                        \
            i_ = p_;                                                             \
        }                                                                        \
    } while (0)

/* v[0] changed (its key grew): sift it down. */
#define DSEND_HEAP_DOWN(T, v, n, BEFORE)                                         \
    do {                                                                         \
        size_t i_ = 0, n_ = (size_t)(n);                                         \
        for (;;) {                                                               \
            size_t l_ = 2 * i_ + 1, r_ = l_ + 1, m_ = i_;                        \
            if (l_ < n_ && (BEFORE(&(v)[l_], &(v)[m_])))                         \
                m_ = l_;                                                         \
            if (r_ < n_ && (BEFORE(&(v)[r_], &(v)[m_])))                         \
                m_ = r_;                                                         \
            if (m_ == i_)                                                        \
                break;                                                           \
            T t_ = (v)[i_];                                                      \
            (v)[i_] = (v)[m_];                                                   \
            (v)[m_] = t_;                                                        \
            i_ = m_;                                                             \
        }                                                                        \
    } while (0)

/* Take the first element into *out (n > 0); n shrinks by one. */
#define DSEND_HEAP_POP(T, v, n, out, BEFORE)                                     \
    do {                                                                         \
        *(out) = (v)[0];                                                         \
        (v)[0] = (v)[--(n)];                                                     \
        DSEND_HEAP_DOWN(T, v, n, BEFORE);                                        \
    } while (0)

#endif
