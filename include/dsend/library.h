/* The media library: one HDF5 file of assets (see doc/library-format.md).
 *
 * Stored assets (kind mpegts) keep their bytes in /assets/<name>/data, a 1-D
 * uint8 dataset chunked at the block size, with one CRC32C per block in
 * /assets/<name>/block_crc32c.  Synthetic assets are rows of the compound
 * table /synthetic: only metadata, their bytes are a deterministic function
 * of (asset seed, offset), so a 10,000-title library costs kilobytes.
 *
 * Asset ids: stored assets in name order, then synthetic assets in table
 * order.  Ids are what layouts and send requests use. */
#ifndef DSEND_LIBRARY_H
#define DSEND_LIBRARY_H

#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#define DSEND_LIBRARY_FORMAT "dsend-library"
#define DSEND_LIBRARY_VERSION 1u
#define DSEND_NAME_MAX 64

typedef enum dsend_asset_kind {
    DSEND_ASSET_MPEGTS = 1,
    DSEND_ASSET_SYNTHETIC = 2,
} dsend_asset_kind;

typedef struct dsend_asset {
    char name[DSEND_NAME_MAX + 1];
    dsend_asset_kind kind;
    uint64_t bitrate_bps;
    int64_t duration_ns;
    uint64_t size;       /* bytes */
    uint64_t block_size; /* bytes; the last block may be shorter */
    uint64_t blocks;
    uint64_t seed;       /* synthetic content seed (0 for stored assets) */
    uint32_t npes;       /* MPEG-TS: PES PIDs and next continuity counters */
    uint32_t pes[8];     /* (pid | cc << 16), from ingest; 0 if unknown */
    /* MPEG-TS: the random-access index (keyframes), byte offsets of the TS
     * packets carrying them, strictly increasing; none (0, NULL) for
     * synthetic assets and libraries written before the index.  Owned by
     * the library (freed by dsend_library_close). */
    uint64_t nrap;
    uint64_t *rap;
} dsend_asset;

typedef struct dsend_library {
    char *path;
    hid_t file;          /* open while the library is open */
    uint32_t nassets;
    dsend_asset *assets; /* index = asset id */
} dsend_library;

/* Open and validate a library.  comm == MPI_COMM_NULL: plain (serial) open;
 * otherwise a collective open with the MPI-IO driver on comm, which the
 * loader then reads from.  Errors name the file and the problem in one line
 * ("x.h5: not an HDF5 file", "x.h5: unsupported library format version 9
 * (this dsend reads 1)", "x.h5: asset 'a': missing attribute 'bitrate_bps'"). */
int dsend_library_open(const char *path, MPI_Comm comm, dsend_library *lib);
void dsend_library_close(dsend_library *lib);

/* Asset id by name, or -1 (and an error message "unknown asset 'x'"). */
int64_t dsend_library_find(const dsend_library *lib, const char *name);

/* Length in bytes of block b of asset a. */
static inline uint64_t dsend_asset_block_len(const dsend_asset *a, uint64_t b)
{
    uint64_t off = b * a->block_size;
    return off >= a->size ? 0 : (a->size - off < a->block_size ? a->size - off : a->block_size);
}

/* A valid asset name: 1..64 characters of [A-Za-z0-9._-], not starting with
 * '.'.  Names become HDF5 link names and URL path segments, never paths. */
int dsend_asset_name_valid(const char *name);

/* Bounds every asset keeps (a library outside them is refused on open and
 * never written): a run's memory, time and output stay proportional to
 * what a user could mean. */
#define DSEND_ASSET_MIN_BITRATE UINT64_C(1000)          /* 1 kbit/s */
#define DSEND_ASSET_MAX_BITRATE UINT64_C(100000000000)  /* 100 Gbit/s */
#define DSEND_ASSET_MAX_DURATION (INT64_C(7) * 24 * 3600 * 1000000000) /* 7 days */
#define DSEND_ASSET_MAX_BLOCK (UINT64_C(1) << 30)       /* 1 GiB: one HDF5 chunk, one read */
#define DSEND_ASSET_MAX_BLOCKS (1u << 24)
/* 0 if asset `a` (name, kind, bitrate, duration, size, block size, blocks,
 * PES PIDs) is sound; else -1 and why in buf, one line without the name. */
int dsend_asset_check(const dsend_asset *a, char *why, size_t n);

/* Synthetic content: byte i of asset a is byte (i % 8) of the little-endian
 * word dsend_mix64(a->seed ^ dsend_mix64(i / 8)). */
void dsend_synthetic_fill(const dsend_asset *a, uint64_t offset, void *buf, size_t len);
/* CRC32C of block b: stored for mpegts (crcs != NULL), computed for synthetic. */
uint32_t dsend_synthetic_block_crc(const dsend_asset *a, uint64_t b);

/* ---- writing (ingest, gen) ----
 * A writer builds the library in a temporary file next to `path`; commit
 * renames it into place, abort (or any failure) removes it, so a failed run
 * never leaves a library behind that looks good. */
typedef struct dsend_library_writer dsend_library_writer;

int dsend_library_create(const char *path, int force, dsend_library_writer **w);
int dsend_library_add_mpegts(dsend_library_writer *w, const char *name, const uint8_t *data,
                             uint64_t size, uint64_t block_size, uint64_t bitrate_bps,
                             int64_t duration_ns, const uint32_t *pes, uint32_t npes,
                             const uint64_t *rap, uint64_t nrap);
/* meta->kind, size and blocks are derived; name, bitrate, duration,
 * block_size and seed are taken. */
int dsend_library_add_synthetic(dsend_library_writer *w, const dsend_asset *meta);
int dsend_library_commit(dsend_library_writer *w);
void dsend_library_abort(dsend_library_writer *w);

/* ---- building libraries ---- */
#include <stdio.h>

typedef struct dsend_ingest_opts {
    uint64_t block_size;  /* a multiple of 1316 (7 TS packets, one RTP payload) */
    uint64_t bitrate_bps; /* 0: derive from PCRs */
    int force;            /* replace an existing output */
} dsend_ingest_opts;

/* Ingest real MPEG-TS files; asset name = file base name without extension.
 * All-or-nothing: on any error no library file is left at `out`.  One line
 * per asset is written to `log` (may be NULL). */
int dsend_ingest(const char *out, char *const *files, int nfiles, const dsend_ingest_opts *o,
                 FILE *log);

typedef struct dsend_gen_opts {
    int64_t assets;
    uint64_t bitrate_min, bitrate_max;  /* bit/s, uniform */
    int64_t duration_min, duration_max; /* ns, uniform */
    uint64_t block_size;
    uint64_t seed;
    int force;
} dsend_gen_opts;

/* A synthetic library of `assets` titles named synth-000000... whose
 * bitrates and durations are drawn uniformly from the ranges with `seed`. */
int dsend_gen(const char *out, const dsend_gen_opts *o, FILE *log);

#endif
