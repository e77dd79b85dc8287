/* Loader: each device reads the blocks the layout gives it into RAM.
 *
 * Collective over comm (one rank = one device).  Stored (mpegts) assets are
 * read with parallel HDF5 over MPI-IO: one collective H5Dread per asset, in
 * which every device selects only its own blocks (primary and replica
 * copies).  Every block read is checked against its stored CRC32C.
 * Synthetic assets have no bytes on disk: their blocks are accounted (count
 * and bytes), and their content is generated on demand when sent. */
#ifndef DSEND_LOADER_H
#define DSEND_LOADER_H

#include <mpi.h>
#include <stdint.h>

#include "dsend/layout.h"
#include "dsend/library.h"

typedef struct dsend_block {
    uint32_t asset;
    uint32_t replica; /* 0: primary copy */
    uint64_t block;
    const uint8_t *data; /* in the store's arena */
    uint64_t len;
    uint32_t crc32c;
} dsend_block;

typedef struct dsend_store {
    int device, devices;
    dsend_block *blocks; /* stored blocks this device holds, sorted by (asset, block) */
    uint64_t nblocks;
    uint8_t *arena;
    uint64_t bytes;             /* stored bytes held in RAM */
    uint64_t synthetic_blocks;  /* synthetic blocks accounted */
    uint64_t synthetic_bytes;
    double read_seconds;        /* this device's collective reads */
    double verify_seconds;      /* this device's checksum pass */
} dsend_store;

/* lib must have been opened collectively on the same comm
 * (dsend_library_open(path, comm, lib)); L->devices must equal comm's size.
 * On error every rank returns the same rc and message (the lowest failing
 * rank's, e.g. "device 2: asset 'x' block 5: checksum mismatch (stored
 * 0x..., read 0x...)") and the store is empty. */
int dsend_load(MPI_Comm comm, const dsend_library *lib, const dsend_layout *L,
               dsend_store *store);
/* The same for one device of a layout that has more devices than comm has
 * ranks (a simulation hosting several devices per rank).  Collective: every
 * rank of comm calls it the same number of times; device -1 takes part in
 * the collective reads without loading anything. */
int dsend_load_device(MPI_Comm comm, const dsend_library *lib, const dsend_layout *L, int device,
                      dsend_store *store);
void dsend_store_free(dsend_store *store);

/* The block this device holds, or NULL. */
const dsend_block *dsend_store_find(const dsend_store *s, uint32_t asset, uint64_t block);

#endif
