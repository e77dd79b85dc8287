/* The HDF5 library: round trip, synthetic content, and every malformed case.
 * `test_library --make-malformed DIR` writes the malformed files for the CLI
 * test (tests/cli-malformed.sh) and exits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/library.h"

static char dir[256];

static const char *tmp(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static uint8_t *bytes(uint64_t n, uint64_t salt)
{
    uint8_t *b = malloc(n);
    for (uint64_t i = 0; i < n; i++)
        b[i] = (uint8_t)(dsend_mix64(salt * 7919 + i) >> 13);
    return b;
}

/* A library with stored asset "a" (5000 bytes in 1316-byte blocks). */
static void make_small(const char *path)
{
    dsend_library_writer *w;
    assert_int_equal(dsend_library_create(path, 1, &w), 0);
    uint8_t *b = bytes(5000, 1);
    assert_int_equal(dsend_library_add_mpegts(w, "a", b, 5000, 1316, 1000000, 40000000, NULL, 0, NULL, 0), 0);
    free(b);
    assert_int_equal(dsend_library_commit(w), 0);
}

static void set_u64_attr(const char *path, const char *obj, const char *name, uint64_t v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    if (H5Aexists(o, name) > 0)
        H5Adelete(o, name);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, H5T_STD_U64LE, s, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(H5Awrite(a, H5T_NATIVE_UINT64, &v) >= 0);
    H5Aclose(a);
    H5Sclose(s);
    H5Oclose(o);
    H5Fclose(f);
}

static void delete_attr(const char *path, const char *obj, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    assert_true(H5Adelete(o, name) >= 0);
    H5Oclose(o);
    H5Fclose(f);
}

static void make_bad_indexes(void);

static void make_malformed(void)
{
    /* a plain HDF5 file that is not a library */
    hid_t f = H5Fcreate(tmp("foreign.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d[1] = {4};
    hid_t s = H5Screate_simple(1, d, NULL);
    hid_t ds = H5Dcreate2(f, "x", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(s);
    H5Fclose(f);
    make_small(tmp("version9.h5"));
    set_u64_attr(tmp("version9.h5"), "/", "format_version", 9);
    make_small(tmp("nobitrate.h5"));
    delete_attr(tmp("nobitrate.h5"), "/assets/a", "bitrate_bps");
    make_small(tmp("shortdata.h5"));
    set_u64_attr(tmp("shortdata.h5"), "/assets/a", "size_bytes", 6000);
    set_u64_attr(tmp("shortdata.h5"), "/assets/a", "blocks", 5);
    make_small(tmp("badblocks.h5"));
    set_u64_attr(tmp("badblocks.h5"), "/assets/a", "blocks", 9);
    /* damaged or hand-made past the bounds every open checks */
    make_small(tmp("noassets.h5"));
    f = H5Fopen(tmp("noassets.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "assets", H5P_DEFAULT);
    H5Fclose(f);
    make_small(tmp("blocksize1000.h5"));
    set_u64_attr(tmp("blocksize1000.h5"), "/assets/a", "block_size", 1000);
    set_u64_attr(tmp("blocksize1000.h5"), "/assets/a", "blocks", 5);
    make_small(tmp("blocksize1.h5"));
    set_u64_attr(tmp("blocksize1.h5"), "/assets/a", "block_size", 1);
    set_u64_attr(tmp("blocksize1.h5"), "/assets/a", "blocks", 5000);
    make_small(tmp("bitrate1.h5"));
    set_u64_attr(tmp("bitrate1.h5"), "/assets/a", "bitrate_bps", 1);
    set_u64_attr(tmp("bitrate1.h5"), "/assets/a", "duration_ns", 40000000000ull);
    make_small(tmp("duration.h5"));
    set_u64_attr(tmp("duration.h5"), "/assets/a", "duration_ns", 3600000000000ull);
    make_bad_indexes();
    make_small(tmp("badpes.h5"));
    f = H5Fopen(tmp("badpes.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "/assets/a", H5P_DEFAULT);
    hsize_t two[1] = {2};
    uint32_t pes[2] = {0x100, 0xffffffffu};
    s = H5Screate_simple(1, two, NULL);
    hid_t a = H5Acreate2(g, "pes_pids", H5T_STD_U32LE, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_UINT32, pes);
    H5Aclose(a);
    H5Sclose(s);
    H5Gclose(g);
    H5Fclose(f);
}

/* Asset "a" of a small library with a random-access index as given
 * (written as it is: what a damaged or hand-made file could hold). */
static void make_index(const char *name, const uint64_t *rap, hsize_t n, hid_t type)
{
    make_small(tmp(name));
    hid_t f = H5Fopen(tmp(name), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "/assets/a", H5P_DEFAULT);
    hid_t s = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(g, "random_access", type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rap);
    H5Dclose(d);
    H5Sclose(s);
    H5Gclose(g);
    H5Fclose(f);
}

static void make_bad_indexes(void)
{
    static const uint64_t unsorted[] = {940, 564}, outside[] = {564, 5076}, odd[] = {564, 600},
                          many[40] = {0};
    make_index("rapunsorted.h5", unsorted, 2, H5T_STD_U64LE);
    make_index("rapoutside.h5", outside, 2, H5T_STD_U64LE);
    make_index("rapodd.h5", odd, 2, H5T_STD_U64LE);
    make_index("rapmany.h5", many, 40, H5T_STD_U64LE); /* 5000 bytes hold 26 packets */
    make_index("rapfloat.h5", outside, 2, H5T_IEEE_F64LE);
}

static void round_trip(void **state)
{
    (void)state;
    const char *p = tmp("rt.h5");
    dsend_library_writer *w;
    assert_int_equal(dsend_library_create(p, 1, &w), 0);
    uint8_t *b1 = bytes(10000, 1), *b2 = bytes(1316, 2);
    assert_int_equal(dsend_library_add_mpegts(w, "zeta", b1, 10000, 2632, 3000000, 26666666, NULL, 0, NULL, 0), 0);
    assert_int_equal(dsend_library_add_mpegts(w, "alpha", b2, 1316, 2632, 2000000, 5264000, NULL, 0, NULL, 0), 0);
    dsend_asset s = {.name = "synth-x", .bitrate_bps = 4000000, .duration_ns = 10000000000,
                     .block_size = 1 << 20, .seed = 99};
    assert_int_equal(dsend_library_add_synthetic(w, &s), 0);
    /* a name used twice and an invalid one are refused */
    assert_int_equal(dsend_library_add_synthetic(w, &s), DSEND_EINVAL);
    assert_non_null(strstr(dsend_errmsg(), "given twice"));
    assert_int_equal(dsend_library_add_mpegts(w, "../etc", b2, 1316, 2632, 1, 1, NULL, 0, NULL, 0), DSEND_EINVAL);
    static const uint64_t backwards[] = {376, 188};
    assert_int_equal(dsend_library_add_mpegts(w, "back", b2, 1316, 2632, 2000000, 5264000, NULL, 0,
                                              backwards, 2), DSEND_EINVAL);
    assert_non_null(strstr(dsend_errmsg(), "random_access entry 1 (188)"));
    assert_int_equal(dsend_library_commit(w), 0);
    assert_int_equal(access(p, R_OK), 0);

    dsend_library lib;
    assert_int_equal(dsend_library_open(p, MPI_COMM_NULL, &lib), 0);
    assert_int_equal(lib.nassets, 3);
    /* stored assets in name order, then synthetic */
    assert_string_equal(lib.assets[0].name, "alpha");
    assert_string_equal(lib.assets[1].name, "zeta");
    assert_string_equal(lib.assets[2].name, "synth-x");
    const dsend_asset *z = &lib.assets[1];
    assert_int_equal(z->kind, DSEND_ASSET_MPEGTS);
    assert_true(z->size == 10000 && z->block_size == 2632 && z->blocks == 4);
    assert_true(z->bitrate_bps == 3000000 && z->duration_ns == 26666666);
    assert_true(dsend_asset_block_len(z, 3) == 10000 - 3 * 2632);
    assert_true(dsend_asset_block_len(z, 4) == 0);
    const dsend_asset *sy = &lib.assets[2];
    assert_int_equal(sy->kind, DSEND_ASSET_SYNTHETIC);
    assert_true(sy->size == 5000000 && sy->blocks == 5 && sy->seed == 99);
    assert_int_equal(dsend_library_find(&lib, "zeta"), 1);
    assert_int_equal(dsend_library_find(&lib, "nope"), -1);
    assert_string_equal(dsend_errmsg(), "unknown asset 'nope'");

    /* bytes and stored checksums */
    uint8_t back[10000];
    uint32_t crc[4];
    hid_t d = H5Dopen2(lib.file, "assets/zeta/data", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    H5Dclose(d);
    assert_memory_equal(back, b1, 10000);
    d = H5Dopen2(lib.file, "assets/zeta/block_crc32c", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, crc) >= 0);
    H5Dclose(d);
    for (int k = 0; k < 4; k++)
        assert_int_equal(crc[k], dsend_crc32c(0, b1 + k * 2632, dsend_asset_block_len(z, k)));
    dsend_library_close(&lib);
    free(b1);
    free(b2);
}

static void writer_leaves_nothing(void **state)
{
    (void)state;
    const char *p = tmp("aborted.h5");
    dsend_library_writer *w;
    assert_int_equal(dsend_library_create(p, 1, &w), 0);
    uint8_t *b = bytes(100, 3);
    assert_int_equal(dsend_library_add_mpegts(w, "a", b, 100, 1316, 1000000, 800000, NULL, 0, NULL, 0), 0);
    free(b);
    dsend_library_abort(w);
    assert_int_not_equal(access(p, F_OK), 0);
    /* an empty library is not committed */
    assert_int_equal(dsend_library_create(p, 1, &w), 0);
    assert_int_equal(dsend_library_commit(w), DSEND_EINVAL);
    assert_int_not_equal(access(p, F_OK), 0);
    /* an existing file is kept without force */
    make_small(p);
    assert_int_equal(dsend_library_create(p, 0, &w), DSEND_EINVAL);
    assert_non_null(strstr(dsend_errmsg(), "exists (use --force"));
    /* no temporary file remains in the directory */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '\\.tmp\\.'", dir);
    assert_int_not_equal(system(cmd), 0);
}

static void malformed(void **state)
{
    (void)state;
    make_malformed();
    struct { const char *file; int rc; const char *msg; } cases[] = {
        {"missing.h5", DSEND_ENOENT, "missing.h5: No such file or directory"},
        {"foreign.h5", DSEND_EFORMAT, "foreign.h5: not a dsend library (no 'dsend_format' attribute)"},
        {"version9.h5", DSEND_EFORMAT, "unsupported library format version 9 (this dsend reads 1)"},
        {"nobitrate.h5", DSEND_EFORMAT, "asset 'a': missing attribute 'bitrate_bps'"},
        {"shortdata.h5", DSEND_EFORMAT, "asset 'a': dataset 'data' has 5000 elements, expected 6000"},
        {"badblocks.h5", DSEND_EFORMAT, "asset 'a': 'blocks' is 9 but size/block_size gives 4"},
        {"noassets.h5", DSEND_EFORMAT, "noassets.h5: no assets"},
        {"blocksize1000.h5", DSEND_EFORMAT, "asset 'a': block size 1000 B: a multiple of 1316 B"},
        {"blocksize1.h5", DSEND_EFORMAT, "asset 'a': block size 1 B: a multiple of 1316 B"},
        {"bitrate1.h5", DSEND_EFORMAT, "asset 'a': bitrate 1bit/s outside 1kbit/s to 100Gbit/s"},
        {"duration.h5", DSEND_EFORMAT, "asset 'a': duration 1h, but 5000 bytes at 1Mbit/s last 40ms"},
        {"badpes.h5", DSEND_EFORMAT, "asset 'a': pes_pids entry 1 (0xffffffff) is not a PID"},
        {"rapunsorted.h5", DSEND_EFORMAT, "asset 'a': random_access entry 1 (564) is not after the "
                                          "entry before it"},
        {"rapoutside.h5", DSEND_EFORMAT, "asset 'a': random_access entry 1 (5076) is not within "
                                         "the asset's bytes"},
        {"rapodd.h5", DSEND_EFORMAT, "asset 'a': random_access entry 1 (600) is not on a 188-byte "
                                     "packet"},
        {"rapmany.h5", DSEND_EFORMAT, "asset 'a': dataset 'random_access' must be 1-D integers"},
        {"rapfloat.h5", DSEND_EFORMAT, "asset 'a': dataset 'random_access' must be 1-D integers"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsend_library lib;
        int rc = dsend_library_open(tmp(cases[i].file), MPI_COMM_NULL, &lib);
        assert_int_equal(rc, cases[i].rc);
        if (!strstr(dsend_errmsg(), cases[i].msg))
            fail_msg("%s: '%s' lacks '%s'", cases[i].file, dsend_errmsg(), cases[i].msg);
    }
    /* not HDF5 at all, and truncated */
    FILE *f = fopen(tmp("text.h5"), "w");
    fputs("hello", f);
    fclose(f);
    dsend_library lib;
    assert_int_equal(dsend_library_open(tmp("text.h5"), MPI_COMM_NULL, &lib), DSEND_EFORMAT);
    assert_non_null(strstr(dsend_errmsg(), "text.h5: not an HDF5 file"));
    make_small(tmp("whole.h5"));
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "head -c 3000 '%s' > '%s'", tmp("whole.h5"), tmp("cut.h5"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(dsend_library_open(tmp("cut.h5"), MPI_COMM_NULL, &lib), DSEND_EFORMAT);
    assert_non_null(strstr(dsend_errmsg(), "cut.h5:"));
}

static void names(void **state)
{
    (void)state;
    assert_true(dsend_asset_name_valid("sample"));
    assert_true(dsend_asset_name_valid("Big_Buck-Bunny.1080p"));
    const char *bad[] = {"", ".hidden", "a/b", "../x", "a b", "a%2f", "caf\xc3\xa9",
                         "0123456789012345678901234567890123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(dsend_asset_name_valid(bad[i]));
}

static void synthetic_content(void **state)
{
    (void)state;
    dsend_asset a = {.name = "s", .kind = DSEND_ASSET_SYNTHETIC, .bitrate_bps = 8000000,
                     .duration_ns = 1000000000, .size = 1000000, .block_size = 65536,
                     .blocks = 16, .seed = 5};
    static uint8_t whole[140000], part[5000];
    dsend_synthetic_fill(&a, 0, whole, sizeof whole);
    /* any window equals the same slice of the whole: content depends only on offset */
    uint64_t offs[] = {0, 1, 7, 8, 9, 12345, 94999};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        dsend_synthetic_fill(&a, offs[i], part, sizeof part);
        assert_memory_equal(part, whole + offs[i], sizeof part);
    }
    /* another seed, other bytes; block CRC is the CRC of the block's bytes */
    dsend_asset b = a;
    b.seed = 6;
    dsend_synthetic_fill(&b, 0, part, sizeof part);
    assert_memory_not_equal(part, whole, sizeof part);
    assert_int_equal(dsend_synthetic_block_crc(&a, 1), dsend_crc32c(0, whole + 65536, 65536));
    /* the last, short block */
    static uint8_t last[65536];
    uint64_t len = dsend_asset_block_len(&a, 15);
    assert_true(len == 1000000 - 15 * 65536);
    dsend_synthetic_fill(&a, 15 * 65536, last, len);
    assert_int_equal(dsend_synthetic_block_crc(&a, 15), dsend_crc32c(0, last, len));
}

static void sample_library(void **state)
{
    (void)state;
    const char *p = getenv("DSEND_SAMPLE_LIB");
    if (!p)
        skip();
    dsend_library lib;
    assert_int_equal(dsend_library_open(p, MPI_COMM_NULL, &lib), 0);
    assert_int_equal(lib.nassets, 1);
    assert_string_equal(lib.assets[0].name, "sample");
    assert_int_equal(lib.assets[0].kind, DSEND_ASSET_MPEGTS);
    assert_true(lib.assets[0].blocks >= 8);
    dsend_library_close(&lib);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rc = 0;
    if (argc == 3 && strcmp(argv[1], "--make-malformed") == 0) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        make_malformed();
    } else {
        snprintf(dir, sizeof dir, "/tmp/dsend-test-library.XXXXXX");
        if (!mkdtemp(dir))
            return 1;
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(round_trip),        cmocka_unit_test(writer_leaves_nothing),
            cmocka_unit_test(malformed),         cmocka_unit_test(names),
            cmocka_unit_test(synthetic_content), cmocka_unit_test(sample_library),
        };
        rc = cmocka_run_group_tests(tests, NULL, NULL);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            rc = 1;
    }
    MPI_Finalize();
    return rc;
}
