/* Loader: each device reads the blocks the layout gives it into RAM.
 *
 * Collective over comm (one rank = one device).  Stored (mpegts) assets are
 * read with parallel HDF5 over MPI-IO: every device opens each asset with
 * the others (collective) and reads only its own blocks (primary and replica
 * copies) on its own (independent I/O), in pieces of a few blocks.  Every
 * block is checked against its stored CRC32C right after its piece is read.
 * Synthetic assets have no bytes on disk: their blocks are accounted (count
 * and bytes), and their content is generated on demand when sent. */
#ifndef DSEND_LOADER_H
#define DSEND_LOADER_H

#include <hdf5.h>
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
    double read_seconds;        /* this device's reads (opens collective, reads its own) */
    double verify_seconds;      /* this device's checksum pass */
    /* RAM (dsend_load_cached): the share is every byte the layout gives the
     * device (stored and synthetic); resident when its RAM holds all of it
     * (then it is loaded as above), else nothing is preloaded and the
     * device's cache reads blocks on demand (dsend/cache.h) */
    uint64_t share_bytes, capacity, largest_block;
    int resident;
} dsend_store;

/* RAM a device may fill with blocks: `bytes`, or else `share` (a fraction)
 * of its share; both 0: all of its share (--ram). */
typedef struct dsend_ram {
    uint64_t bytes;
    double share;
} dsend_ram;

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
 * the collective opens without loading anything. */
int dsend_load_device(MPI_Comm comm, const dsend_library *lib, const dsend_layout *L, int device,
                      dsend_store *store);
/* The same, within a RAM budget: a device whose budget holds its whole
 * share loads it as above (resident); one below its share loads nothing
 * and only records its share and budget.  When no device of comm loads
 * anything, there is no collective open at all (ready at once, whatever
 * the library's size).  A budget smaller than the largest block the device
 * holds is refused (it could never read that block). */
int dsend_load_cached(MPI_Comm comm, const dsend_library *lib, const dsend_layout *L, int device,
                      dsend_ram ram, dsend_store *store);
void dsend_store_free(dsend_store *store);

/* The loader's check of a block read from storage: its CRC32C against the
 * stored one, in one line naming device, file, asset and block. */
int dsend_block_verify(const dsend_library *lib, int device, uint32_t asset, uint64_t block,
                       const uint8_t *data, uint64_t len, uint32_t stored, uint32_t *crc);

/* Serial, read-only access to a library's blocks, one at a time (the
 * storage backends: serve's reader thread, sim's disk model).  The file is
 * opened with the default driver, never collectively, so any rank may read
 * alone, whenever, and close it alone. */
typedef struct dsend_block_file {
    const dsend_library *lib;
    hid_t file;
    hid_t *data, *crc;       /* per asset, opened on first use (-1: not yet) */
} dsend_block_file;
int dsend_block_file_open(dsend_block_file *f, const dsend_library *lib);
/* Block `block` of stored asset `asset` into buf (its length), checked. */
int dsend_block_file_read(dsend_block_file *f, int device, uint32_t asset, uint64_t block,
                          uint8_t *buf);
void dsend_block_file_close(dsend_block_file *f);

/* The block this device holds, or NULL. */
const dsend_block *dsend_store_find(const dsend_store *s, uint32_t asset, uint64_t block);

#endif
