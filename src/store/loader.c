/* Parallel load of a device's blocks (see include/dsend/loader.h). */
#define _GNU_SOURCE /* MADV_HUGEPAGE */
#include "dsend/loader.h"
#include "util/check.h"
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "dsend/units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int cmp_block(const void *x, const void *y)
{
    const dsend_block *a = x, *b = y;
    if (a->asset != b->asset)
        return a->asset < b->asset ? -1 : 1;
    return a->block < b->block ? -1 : a->block > b->block;
}

const dsend_block *dsend_store_find(const dsend_store *s, uint32_t asset, uint64_t block)
{
    dsend_block key = {.asset = asset, .block = block};
    return bsearch(&key, s->blocks, s->nblocks, sizeof key, cmp_block);
}

void dsend_store_free(dsend_store *s)
{
    free(s->blocks);
    free(s->arena);
    memset(s, 0, sizeof *s);
}

/* The blocks' RAM, in huge pages where the kernel gives them (it does on
 * madvise): filling fresh 4 KiB pages costs a fault each, twice on a
 * virtual machine with shadow page tables, which made the load several times
 * slower than reading the file. */
static uint8_t *arena_alloc(uint64_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < huge)
        return malloc(bytes ? bytes : 1);
    size_t n = (bytes + huge - 1) & ~(huge - 1);
    uint8_t *p = aligned_alloc(huge, n);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, n, MADV_HUGEPAGE); /* a hint: without it, 4 KiB pages */
#endif
    return p;
}

/* Pass 1: which blocks does this device hold, and how many bytes. */
static int plan(const dsend_library *lib, const dsend_layout *L, dsend_store *s)
{
    uint64_t n = 0, cap = 0;
    int dev[DSEND_MAX_REPLICAS];
    for (uint32_t a = 0; a < lib->nassets; a++) {
        const dsend_asset *as = &lib->assets[a];
        for (uint64_t b = 0; b < as->blocks; b++) {
            dsend_layout_place(L, a, b, dev);
            for (int r = 0; r < L->replicas; r++) {
                if (dev[r] != s->device)
                    continue;
                uint64_t len = dsend_asset_block_len(as, b);
                if (len > s->largest_block)
                    s->largest_block = len;
                if (as->kind == DSEND_ASSET_SYNTHETIC) {
                    s->synthetic_blocks++;
                    s->synthetic_bytes += len;
                    break;
                }
                if (n == cap) {
                    cap = cap ? 2 * cap : 256;
                    void *p = realloc(s->blocks, cap * sizeof *s->blocks);
                    if (!p)
                        return dsend_seterr(DSEND_ENOMEM, "device %d: out of memory", s->device);
                    s->blocks = p;
                }
                s->blocks[n++] = (dsend_block){.asset = a, .replica = (uint32_t)r, .block = b,
                                               .len = len};
                s->bytes += len;
                break; /* replicas are on distinct devices: at most one here */
            }
        }
    }
    s->nblocks = n;
    return 0;
}

/* Blocks are read and checked in pieces of about this many bytes: a piece
 * is checksummed right after its read, while the kernel's copy still has it
 * in the core's cache (half of a common 1 MiB L2); checked after the whole
 * asset was read, the CRC32C pass fetched it back from memory.  Small
 * blocks are gathered up to this size: each read costs HDF5 some 9,000
 * instructions. */
#define PIECE_BYTES ((uint64_t)512 << 10)

/* Pass 2: per stored asset, every device opens its dataset (a collective
 * call of parallel HDF5) and, when `io`, reads its blocks of it on its own
 * (independent I/O: a collective read made ranks that outnumber the cores
 * wait for each other once per asset) into `dst`, piece by piece, checking
 * each block against the asset's stored checksums (`crcs`). */
static int read_asset(const dsend_library *lib, uint32_t a, dsend_store *s, uint64_t first,
                      uint64_t count, uint8_t *dst, uint32_t *crcs, int io)
{
    int rc = 0;
    const dsend_asset *as = &lib->assets[a];
    hid_t d = -1, fs = -1, ms = -1, dxpl = -1, cd = -1, dapl = -1;
    char path[DSEND_NAME_MAX + 32];
    double t0 = MPI_Wtime();
    snprintf(path, sizeof path, "assets/%s/data", as->name);
    /* no chunk cache: every block (one chunk) goes straight into the arena */
    H5_CHECK(dapl = H5Pcreate(H5P_DATASET_ACCESS));
    H5_CHECK(H5Pset_chunk_cache(dapl, 0, 0, 1.0));
    H5_CHECK(d = H5Dopen2(lib->file, path, dapl));
    snprintf(path, sizeof path, "assets/%s/block_crc32c", as->name);
    H5_CHECK(cd = H5Dopen2(lib->file, path, H5P_DEFAULT));
    if (!io || count == 0)
        goto err; /* opened and closed with the others, nothing to read */
    H5_CHECK(dxpl = H5Pcreate(H5P_DATASET_XFER));
    H5_CHECK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_INDEPENDENT));
    /* the stored checksums of this asset (small; all of them) */
    H5_CHECK(H5Dread(cd, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, dxpl, crcs));
    H5_CHECK(fs = H5Dget_space(d));
    for (uint64_t i = first; i < first + count;) {
        /* a piece: at least one block, more while they fit */
        uint64_t end = i, total = 0;
        H5_CHECK(H5Sselect_none(fs));
        do {
            const dsend_block *b = &s->blocks[end++];
            hsize_t start[1] = {b->block * as->block_size}, len[1] = {b->len};
            H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, NULL, len, NULL));
            total += b->len;
        } while (end < first + count && total + s->blocks[end].len <= PIECE_BYTES);
        hsize_t mdims[1] = {total};
        H5_CHECK(ms = H5Screate_simple(1, mdims, NULL));
        /* selections are in increasing file order, so memory holds the
         * blocks in the order of s->blocks */
        H5_CHECK(H5Dread(d, H5T_NATIVE_UINT8, ms, fs, dxpl, dst));
        H5Sclose(ms);
        ms = -1;
        double t1 = MPI_Wtime();
        s->read_seconds += t1 - t0;
        for (; i < end; i++) {
            dsend_block *b = &s->blocks[i];
            b->data = dst;
            dst += b->len;
            TRY(dsend_block_verify(lib, s->device, a, b->block, b->data, b->len,
                                   crcs[b->block], &b->crc32c));
        }
        t0 = MPI_Wtime();
        s->verify_seconds += t0 - t1;
    }
err:
    if (dapl >= 0)
        H5Pclose(dapl);
    if (cd >= 0)
        H5Dclose(cd);
    if (dxpl >= 0)
        H5Pclose(dxpl);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (d >= 0)
        H5Dclose(d);
    s->read_seconds += MPI_Wtime() - t0;
    return rc;
}

int dsend_load(MPI_Comm comm, const dsend_library *lib, const dsend_layout *L,
               dsend_store *s)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (L->devices != size) {
        int rc = dsend_seterr(DSEND_EINVAL, "layout is for %d devices but the communicator has %d",
                              L->devices, size);
        return dsend_mpi_agree(comm, rc);
    }
    return dsend_load_device(comm, lib, L, rank, s);
}

/* Within the budget: all of the share, or nothing (dsend/loader.h). */
static int budget(const dsend_library *lib, const dsend_ram *ram, dsend_store *s)
{
    char a[32], b[32];
    s->share_bytes = s->bytes + s->synthetic_bytes;
    s->capacity = s->share_bytes;
    s->resident = 1;
    if (!ram || (ram->bytes == 0 && ram->share <= 0))
        return 0;
    s->capacity = ram->bytes ? ram->bytes : (uint64_t)((double)s->share_bytes * ram->share);
    if (s->capacity >= s->share_bytes)
        return 0;
    s->resident = 0;
    free(s->blocks); /* nothing is preloaded: the cache reads on demand */
    s->blocks = NULL;
    s->nblocks = s->bytes = s->synthetic_blocks = s->synthetic_bytes = 0;
    if (s->capacity < s->largest_block)
        return dsend_seterr(DSEND_EINVAL,
                            "--ram: device %d would have %s of RAM, less than one of its blocks "
                            "(%s) in %s",
                            s->device, dsend_format_size(s->capacity, a, sizeof a),
                            dsend_format_size(s->largest_block, b, sizeof b), lib->path);
    return 0;
}

static int load(MPI_Comm comm, const dsend_library *lib, const dsend_layout *L, int device,
                const dsend_ram *ram, dsend_store *s)
{
    int rc = 0;
    uint32_t *crcs = NULL;
    memset(s, 0, sizeof *s);
    s->device = device;
    s->devices = L->devices;
    if (device >= L->devices) {
        rc = dsend_seterr(DSEND_EINVAL, "device %d: the layout has %d devices", device, L->devices);
        goto agree;
    }
    if (device >= 0)
        rc = plan(lib, L, s);
    if (rc == 0 && device >= 0)
        rc = budget(lib, ram, s);
    if (rc == 0 && !(s->arena = arena_alloc(s->bytes)))
        rc = dsend_seterr(DSEND_ENOMEM, "device %d: cannot hold %llu bytes of blocks in RAM",
                          s->device, (unsigned long long)s->bytes);
    uint64_t maxblocks = 1;
    for (uint32_t a = 0; a < lib->nassets; a++)
        if (lib->assets[a].kind == DSEND_ASSET_MPEGTS && lib->assets[a].blocks > maxblocks)
            maxblocks = lib->assets[a].blocks;
    if (rc == 0 && !(crcs = malloc(maxblocks * sizeof *crcs)))
        rc = dsend_seterr(DSEND_ENOMEM, "device %d: out of memory", s->device);
agree:
    /* every device must enter the collective opens, or none */
    if ((rc = dsend_mpi_agree(comm, rc)) != 0)
        goto err;
    /* nobody preloads a stored block: no collective open at all */
    int loads = s->nblocks > 0, any = 0;
    MPI_Allreduce(&loads, &any, 1, MPI_INT, MPI_MAX, comm);
    if (!any) {
        free(crcs);
        return 0;
    }

    MPI_Barrier(comm);
    uint64_t i = 0, off = 0;
    for (uint32_t a = 0; a < lib->nassets; a++) {
        const dsend_asset *as = &lib->assets[a];
        if (as->kind != DSEND_ASSET_MPEGTS)
            continue;
        uint64_t first = i;
        while (i < s->nblocks && s->blocks[i].asset == a)
            i++;
        /* after a failure, the others' opens still need this device */
        int r = read_asset(lib, a, s, first, i - first, s->arena + off, crcs, rc == 0);
        rc = rc ? rc : r;
        for (uint64_t k = first; k < i; k++)
            off += s->blocks[k].len;
    }
    if ((rc = dsend_mpi_agree(comm, rc)) != 0)
        goto err;
    free(crcs);
    return 0;
err:
    free(crcs);
    dsend_store_free(s);
    return rc;
}

int dsend_load_device(MPI_Comm comm, const dsend_library *lib, const dsend_layout *L, int device,
                      dsend_store *s)
{
    return load(comm, lib, L, device, NULL, s);
}

int dsend_load_cached(MPI_Comm comm, const dsend_library *lib, const dsend_layout *L, int device,
                      dsend_ram ram, dsend_store *s)
{
    return load(comm, lib, L, device, &ram, s);
}
