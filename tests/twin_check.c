/* Compare a model run with a measured one (the twin test).
 *
 *   twin_check same MODEL.h5 MEASURED.h5
 *       both files have /clients with the same fields, the same units
 *       attribute, and per client the same asset, expected and received
 *       packet counts and payload bytes, no loss, no payload error
 *   twin_check underruns RUN.h5
 *       at least one client of the run stalled, and its stall is counted
 *
 * Exit 0 when every assertion holds; one line and exit 1 otherwise. */
#include "dsend/dsend.h"
#include "util/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "twin_check: " __VA_ARGS__);                                               \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

typedef struct table {
    char units[32];
    char fields[1024];
    size_t n;
    dsend_client_stats *c;
} table;

static void load(const char *path, table *t)
{
    memset(t, 0, sizeof *t);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        FAIL("%s: cannot open", path);
    hid_t d = H5Dopen2(f, "clients", H5P_DEFAULT);
    if (d < 0)
        FAIL("%s: no /clients", path);
    if (dsend_h5_read_attr_str(d, "units", t->units, sizeof t->units) != 0)
        FAIL("%s: /clients has no units attribute", path);
    hid_t ft = H5Dget_type(d), s = H5Dget_space(d);
    for (int i = 0; i < H5Tget_nmembers(ft); i++) {
        char *name = H5Tget_member_name(ft, (unsigned)i);
        snprintf(t->fields + strlen(t->fields), sizeof t->fields - strlen(t->fields), "%s,", name);
        H5free_memory(name);
    }
    hssize_t n = H5Sget_simple_extent_npoints(s);
    t->n = (size_t)n;
    t->c = calloc(t->n + 1, sizeof *t->c);
    hid_t mt = dsend_results_client_type();
    if (!t->c || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->c) < 0)
        FAIL("%s: cannot read /clients", path);
    H5Tclose(mt);
    H5Tclose(ft);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "same") == 0) {
        table a, b;
        load(argv[2], &a);
        load(argv[3], &b);
        if (strcmp(a.units, b.units) != 0)
            FAIL("units differ: %s vs %s", a.units, b.units);
        if (strcmp(a.fields, b.fields) != 0)
            FAIL("fields differ: %s vs %s", a.fields, b.fields);
        if (a.n != b.n || a.n == 0)
            FAIL("%zu clients vs %zu", a.n, b.n);
        for (size_t i = 0; i < a.n; i++) {
            const dsend_client_stats *x = &a.c[i], *y = &b.c[i];
            if (x->asset != y->asset || x->scheduler != y->scheduler ||
                x->expected != y->expected || x->received != y->received || x->bytes != y->bytes)
                FAIL("client %zu: model asset %u scheduler %u, %llu/%llu packets, %llu bytes; "
                     "measured asset %u scheduler %u, %llu/%llu packets, %llu bytes",
                     i, x->asset, x->scheduler, (unsigned long long)x->received,
                     (unsigned long long)x->expected, (unsigned long long)x->bytes, y->asset,
                     y->scheduler, (unsigned long long)y->received, (unsigned long long)y->expected,
                     (unsigned long long)y->bytes);
            if (x->lost || y->lost || x->crc_errors || y->crc_errors || x->received == 0)
                FAIL("client %zu: lost %llu/%llu, payload errors %llu/%llu", i,
                     (unsigned long long)x->lost, (unsigned long long)y->lost,
                     (unsigned long long)x->crc_errors, (unsigned long long)y->crc_errors);
            if (x->startup_ns <= 0 || y->startup_ns <= 0)
                FAIL("client %zu: startup %lld / %lld ns", i, (long long)x->startup_ns,
                     (long long)y->startup_ns);
        }
        printf("twin: %zu clients, the same asset, scheduler, packets (%s) and bytes per client "
               "in both worlds\n",
               a.n, a.units);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "underruns") == 0) {
        table a;
        load(argv[2], &a);
        uint64_t clients = 0, late = 0;
        for (size_t i = 0; i < a.n; i++) {
            const dsend_client_stats *c = &a.c[i];
            if (c->underruns > 0 && (c->stall_ns <= 0 || c->late == 0 || c->max_lateness <= 0))
                FAIL("client %zu: %u underruns but stall %lld ns, %llu late", i, c->underruns,
                     (long long)c->stall_ns, (unsigned long long)c->late);
            clients += c->underruns > 0;
            late += c->late;
        }
        if (clients == 0)
            FAIL("%s: no client stalled", argv[2]);
        printf("underruns: %llu of %zu clients stalled, %llu late packets\n",
               (unsigned long long)clients, a.n, (unsigned long long)late);
        return 0;
    }
    FAIL("usage: twin_check same MODEL.h5 MEASURED.h5 | underruns RUN.h5");
}
