/* Reading one block at a time from mass storage (the library file), with
 * the loader's checksum check: what a device's cache reads on demand when
 * its RAM is below its share (include/dsend/loader.h).  Serial HDF5 on a
 * read-only handle of its own: serve's reader thread is then the only
 * thread calling HDF5, and closing it involves no other rank. */
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/loader.h"
#include "util/check.h"

#include <stdio.h>
#include <stdlib.h>

int dsend_block_verify(const dsend_library *lib, int device, uint32_t asset, uint64_t block,
                       const uint8_t *data, uint64_t len, uint32_t stored, uint32_t *crc)
{
    uint32_t got = dsend_crc32c(0, data, len);
    if (crc)
        *crc = got;
    if (got == stored)
        return 0;
    return dsend_seterr(DSEND_ECHECKSUM,
                        "device %d: %s: asset '%s' block %llu: checksum mismatch (stored 0x%08x, "
                        "read 0x%08x)",
                        device, lib->path, lib->assets[asset].name, (unsigned long long)block,
                        stored, got);
}

int dsend_block_file_open(dsend_block_file *f, const dsend_library *lib)
{
    f->lib = lib;
    f->data = malloc((lib->nassets ? lib->nassets : 1) * sizeof *f->data);
    f->crc = malloc((lib->nassets ? lib->nassets : 1) * sizeof *f->crc);
    f->file = -1;
    if (!f->data || !f->crc) {
        dsend_block_file_close(f);
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    }
    for (uint32_t a = 0; a < lib->nassets; a++)
        f->data[a] = f->crc[a] = -1;
    dsend_h5_quiet();
    f->file = H5Fopen(lib->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f->file < 0) {
        char why[256];
        dsend_h5_last_error(why, sizeof why);
        dsend_block_file_close(f);
        return dsend_seterr(DSEND_EIO, "%s: cannot open it to read blocks (%s)", lib->path, why);
    }
    return 0;
}

void dsend_block_file_close(dsend_block_file *f)
{
    for (uint32_t a = 0; f->lib && a < f->lib->nassets; a++) {
        if (f->data && f->data[a] >= 0)
            H5Dclose(f->data[a]);
        if (f->crc && f->crc[a] >= 0)
            H5Dclose(f->crc[a]);
    }
    free(f->data);
    free(f->crc);
    if (f->file >= 0)
        H5Fclose(f->file);
    f->data = f->crc = NULL;
    f->file = -1;
}

/* elements [start, start + n) of a 1-D dataset */
static int read_range(hid_t d, hid_t type, uint64_t start, uint64_t n, void *buf)
{
    int rc = 0;
    hid_t fs = -1, ms = -1;
    hsize_t st[1] = {start}, cnt[1] = {n};
    H5_CHECK(fs = H5Dget_space(d));
    H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cnt, NULL));
    H5_CHECK(ms = H5Screate_simple(1, cnt, NULL));
    H5_CHECK(H5Dread(d, type, ms, fs, H5P_DEFAULT, buf));
err:
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

int dsend_block_file_read(dsend_block_file *f, int device, uint32_t asset, uint64_t block,
                          uint8_t *buf)
{
    int rc = 0;
    const dsend_asset *a = &f->lib->assets[asset];
    char path[DSEND_NAME_MAX + 32];
    uint32_t stored;
    if (a->kind != DSEND_ASSET_MPEGTS || block >= a->blocks)
        return dsend_seterr(DSEND_EINVAL, "device %d: asset '%s' has no stored block %llu",
                            device, a->name, (unsigned long long)block);
    if (f->data[asset] < 0) {
        snprintf(path, sizeof path, "assets/%s/data", a->name);
        H5_CHECK(f->data[asset] = H5Dopen2(f->file, path, H5P_DEFAULT));
        snprintf(path, sizeof path, "assets/%s/block_crc32c", a->name);
        H5_CHECK(f->crc[asset] = H5Dopen2(f->file, path, H5P_DEFAULT));
    }
    uint64_t len = dsend_asset_block_len(a, block);
    TRY(read_range(f->data[asset], H5T_NATIVE_UINT8, block * a->block_size, len, buf));
    TRY(read_range(f->crc[asset], H5T_NATIVE_UINT32, block, 1, &stored));
    return dsend_block_verify(f->lib, device, asset, block, buf, len, stored, NULL);
err:
    return rc;
}
