/* MPI scenario program for the loader, run under real mpirun.
 *
 *   mpi_load_check LIB.h5|--make DIR LAYOUT R [--subcomm] [--corrupt]
 *
 * --make DIR: rank 0 first builds a library in DIR with stored assets of
 * awkward sizes (shorter than one block, exact multiples, one byte over, one
 * longer than the loader's read-and-check piece) and synthetic ones; LIB is
 * then DIR/made.h5.
 * Checks, on comm = MPI_COMM_WORLD or (--subcomm) on each half of it:
 *  - every stored block is held by exactly R devices (R <= devices of the
 *    communicator, else the check fails), the ones the layout names, and
 *    every copy's bytes match the library read serially by rank 0;
 *  - synthetic blocks are accounted exactly R times in all;
 *  - --corrupt: after one byte of the last block of the largest stored asset
 *    is changed behind the checksum's back (on one device it comes after
 *    pieces that passed), the load fails on every rank with DSEND_ECHECKSUM
 *    naming the block, and every store is left empty.
 * Exit 0 when every check holds; a message and exit 1 otherwise. */
#include "dsend/dsend.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_check.h"

static void make_library(const char *path)
{
    dsend_library_writer *w;
    CHECK(dsend_library_create(path, 1, &w) == 0, "%s", dsend_errmsg());
    const uint64_t bs = 1316 * 3;
    const uint64_t sizes[] = {100, bs, bs * 7, bs * 7 + 1, bs * 13 - 5, 188 * 50, bs * 150 + 100};
    char name[32];
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *buf = malloc(sizes[i]);
        for (uint64_t k = 0; k < sizes[i]; k++)
            buf[k] = (uint8_t)(dsend_mix64(i * 1000003u + k) >> 7);
        snprintf(name, sizeof name, "stored-%u", i);
        /* at 1 Mbit/s: a second, or as long as the bytes last */
        uint64_t ns = sizes[i] * 8000 > 1000000000 ? sizes[i] * 8000 : 1000000000;
        CHECK(dsend_library_add_mpegts(w, name, buf, sizes[i], bs, 1000000, ns, NULL, 0, NULL, 0) == 0,
              "%s", dsend_errmsg());
        free(buf);
    }
    for (unsigned i = 0; i < 3; i++) {
        dsend_asset a = {.bitrate_bps = 800000 + 100000 * i, .duration_ns = 2000000000,
                         .block_size = 65536, .seed = i};
        snprintf(a.name, sizeof a.name, "synth-%u", i);
        CHECK(dsend_library_add_synthetic(w, &a) == 0, "%s", dsend_errmsg());
    }
    CHECK(dsend_library_commit(w) == 0, "%s", dsend_errmsg());
}

/* Change one byte of the last block of the largest stored asset, leaving its
 * CRC. */
static void corrupt(const char *path, char *asset_out, uint64_t *block_out)
{
    dsend_library lib;
    CHECK(dsend_library_open(path, MPI_COMM_NULL, &lib) == 0, "%s", dsend_errmsg());
    uint32_t best = 0;
    for (uint32_t a = 0; a < lib.nassets; a++)
        if (lib.assets[a].kind == DSEND_ASSET_MPEGTS && lib.assets[a].blocks > lib.assets[best].blocks)
            best = a;
    CHECK(lib.assets[best].blocks >= 2, "need an asset of two blocks");
    strcpy(asset_out, lib.assets[best].name);
    *block_out = lib.assets[best].blocks - 1;
    uint64_t off = *block_out * lib.assets[best].block_size +
                   dsend_asset_block_len(&lib.assets[best], *block_out) / 2;
    dsend_library_close(&lib);

    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    char dpath[128];
    snprintf(dpath, sizeof dpath, "assets/%s/data", asset_out);
    hid_t d = H5Dopen2(f, dpath, H5P_DEFAULT);
    hid_t fs = H5Dget_space(d);
    hsize_t start[1] = {off}, count[1] = {1};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(1, count, NULL);
    uint8_t v;
    CHECK(H5Dread(d, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, &v) >= 0, "read");
    v ^= 0x5a;
    CHECK(H5Dwrite(d, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, &v) >= 0, "write");
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
}

static void check_load(MPI_Comm comm, const char *path, const char *policy, int R, int corrupted,
                       const char *bad_asset, uint64_t bad_block)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    dsend_library lib;
    CHECK(dsend_library_open(path, comm, &lib) == 0, "%s", dsend_errmsg());
    dsend_layout L;
    CHECK(dsend_layout_open(&L, dsend_layout_find(policy), size, R) == 0, "%s", dsend_errmsg());
    dsend_store s;
    int rc = dsend_load(comm, &lib, &L, &s);
    if (corrupted) {
        char want[160];
        snprintf(want, sizeof want, "asset '%s' block %llu: checksum mismatch", bad_asset,
                 (unsigned long long)bad_block);
        CHECK(rc == DSEND_ECHECKSUM, "rc %d: %s", rc, dsend_errmsg());
        CHECK(strstr(dsend_errmsg(), want) != NULL, "message '%s' lacks '%s'", dsend_errmsg(), want);
        CHECK(s.nblocks == 0 && s.arena == NULL, "store not emptied after failure");
        if (rank == 0)
            printf("corrupt block refused on all %d devices: %s\n", size, dsend_errmsg());
        dsend_layout_close(&L);
        dsend_library_close(&lib);
        return;
    }
    CHECK(rc == 0, "%s", dsend_errmsg());

    /* every held block is one the layout gives this device, with the right replica index */
    for (uint64_t i = 0; i < s.nblocks; i++) {
        int rep;
        CHECK(dsend_layout_holds(&L, s.blocks[i].asset, s.blocks[i].block, rank, &rep),
              "device %d holds asset %u block %llu that the layout does not give it", rank,
              s.blocks[i].asset, (unsigned long long)s.blocks[i].block);
        CHECK((uint32_t)rep == s.blocks[i].replica, "replica index");
        CHECK(dsend_store_find(&s, s.blocks[i].asset, s.blocks[i].block) == &s.blocks[i], "find");
    }
    /* the CRC of every stored block, from an independent serial read by
     * rank 0 (the whole dataset, not the loader's hyperslabs), known to
     * every rank: each copy is checked on its own (an even number of
     * identical wrong copies must not cancel out) */
    uint64_t total = 0, syn_total = 0;
    for (uint32_t a = 0; a < lib.nassets; a++) {
        if (lib.assets[a].kind == DSEND_ASSET_MPEGTS)
            total += lib.assets[a].blocks;
        else
            syn_total += lib.assets[a].blocks * (uint64_t)R;
    }
    uint32_t *want = calloc(total + 1, sizeof *want);
    int *copies = calloc(total + 1, sizeof *copies), *sum = calloc(total + 1, sizeof *sum);
    int *good = calloc(total + 1, sizeof *good), *goodsum = calloc(total + 1, sizeof *goodsum);
    CHECK(want && copies && sum && good && goodsum, "out of memory");
    uint64_t base = 0, k = 0;
    if (rank == 0) {
        dsend_library ser;
        CHECK(dsend_library_open(path, MPI_COMM_NULL, &ser) == 0, "%s", dsend_errmsg());
        for (uint32_t a = 0; a < ser.nassets; a++) {
            const dsend_asset *as = &ser.assets[a];
            if (as->kind != DSEND_ASSET_MPEGTS)
                continue;
            uint8_t *all = malloc(as->size);
            char dp[128];
            snprintf(dp, sizeof dp, "assets/%s/data", as->name);
            hid_t d = H5Dopen2(ser.file, dp, H5P_DEFAULT);
            CHECK(all && H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) >= 0,
                  "read");
            H5Dclose(d);
            for (uint64_t b = 0; b < as->blocks; b++)
                want[base + b] = dsend_crc32c(0, all + b * as->block_size,
                                              dsend_asset_block_len(as, b));
            base += as->blocks;
            free(all);
        }
        dsend_library_close(&ser);
    }
    MPI_Bcast(want, (int)total, MPI_UINT32_T, 0, comm);
    base = 0;
    for (uint32_t a = 0; a < lib.nassets; a++) {
        if (lib.assets[a].kind != DSEND_ASSET_MPEGTS)
            continue;
        for (; k < s.nblocks && s.blocks[k].asset == a; k++) {
            uint64_t i = base + s.blocks[k].block;
            copies[i] = 1;
            good[i] = dsend_crc32c(0, s.blocks[k].data, s.blocks[k].len) == want[i];
        }
        base += lib.assets[a].blocks;
    }
    MPI_Reduce(copies, sum, (int)total, MPI_INT, MPI_SUM, 0, comm);
    MPI_Reduce(good, goodsum, (int)total, MPI_INT, MPI_SUM, 0, comm);
    unsigned long long syn[2] = {s.synthetic_blocks, 0}, synsum[2];
    MPI_Reduce(syn, synsum, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, comm);
    if (rank == 0) {
        base = 0;
        for (uint32_t a = 0; a < lib.nassets; a++) {
            const dsend_asset *as = &lib.assets[a];
            if (as->kind != DSEND_ASSET_MPEGTS)
                continue;
            for (uint64_t b = 0; b < as->blocks; b++) {
                CHECK(sum[base + b] == R, "asset %s block %llu held %d times, want %d", as->name,
                      (unsigned long long)b, sum[base + b], R);
                CHECK(goodsum[base + b] == R,
                      "asset %s block %llu: %d of its %d copies in RAM differ from the file",
                      as->name, (unsigned long long)b, R - goodsum[base + b], R);
            }
            base += as->blocks;
        }
        CHECK(synsum[0] == syn_total, "synthetic blocks accounted %llu, want %llu", synsum[0],
              (unsigned long long)syn_total);
        printf("%s on %d devices, layout %s, R=%d: %llu stored blocks each held exactly %d times, "
               "every copy's bytes match the file; %llu synthetic blocks accounted\n",
               path, size, policy, R, (unsigned long long)total, R, synsum[0]);
    }
    free(want);
    free(good);
    free(goodsum);
    free(copies);
    free(sum);
    dsend_store_free(&s);
    dsend_layout_close(&L);
    dsend_library_close(&lib);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    int subcomm = 0, corrupted = 0, i = 1;
    char path[4300], bad_asset[DSEND_NAME_MAX + 1] = "";
    uint64_t bad_block = 0;
    CHECK(argc >= 4, "usage: mpi_load_check LIB.h5|--make DIR LAYOUT R [--subcomm] [--corrupt]");
    if (strcmp(argv[i], "--make") == 0) {
        snprintf(path, sizeof path, "%s/made.h5", argv[++i]);
        if (world_rank == 0)
            make_library(path);
    } else {
        snprintf(path, sizeof path, "%s", argv[i]);
    }
    const char *policy = argv[++i];
    int R = atoi(argv[++i]);
    for (i++; i < argc; i++) {
        if (strcmp(argv[i], "--subcomm") == 0)
            subcomm = 1;
        else if (strcmp(argv[i], "--corrupt") == 0)
            corrupted = 1;
    }
    if (corrupted) {
        /* work on a copy in the same directory */
        char copy[4100];
        snprintf(copy, sizeof copy, "%.4000s.corrupt.h5", path);
        if (world_rank == 0) {
            char cmd[9000];
            snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, copy);
            CHECK(system(cmd) == 0, "copy");
            corrupt(copy, bad_asset, &bad_block);
        }
        MPI_Bcast(bad_asset, sizeof bad_asset, MPI_CHAR, 0, MPI_COMM_WORLD);
        MPI_Bcast(&bad_block, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        snprintf(path, sizeof path, "%s", copy);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Comm comm = MPI_COMM_WORLD;
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (subcomm)
        MPI_Comm_split(MPI_COMM_WORLD, world_rank < size / 2, world_rank, &comm);
    int csize;
    MPI_Comm_size(comm, &csize);
    CHECK(R >= 1 && R <= csize, "R=%d copies on a communicator of %d devices", R, csize);
    check_load(comm, path, policy, R, corrupted, bad_asset, bad_block);
    if (subcomm)
        MPI_Comm_free(&comm);
    if (corrupted && world_rank == 0)
        unlink(path);
    MPI_Finalize();
    return 0;
}
