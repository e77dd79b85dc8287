/* The library opener every command runs: the input's bytes written to a
 * temporary file, then dsend_library_open.  A library it accepts satisfies
 * what the rest of dsend relies on (doc/library-format.md). */
#include "dsend/error.h"
#include "dsend/library.h"
#include "dsend/ts.h"
#include "fuzz.h"

#include <mpi.h>
#include <string.h>
#include <unistd.h>

static char path[4096];
static int fd = -1;

static void cleanup(void)
{
    if (fd >= 0)
        unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/dsend-fuzz-library.XXXXXX", dir);
    fd = mkstemp(path);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    atexit(cleanup);
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited)
        MPI_Init(NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    dsend_library lib;
    int rc = dsend_library_open(path, MPI_COMM_NULL, &lib);
    FUZZ_ASSERT(!strchr(dsend_errmsg(), '\n'));
    if (rc) {
        FUZZ_ASSERT(rc == DSEND_EFORMAT || rc == DSEND_ENOMEM || rc == DSEND_EHDF5 ||
                    rc == DSEND_EINVAL);
        return 0;
    }
    FUZZ_ASSERT(lib.nassets >= 1);
    for (uint32_t i = 0; i < lib.nassets; i++) {
        const dsend_asset *a = &lib.assets[i];
        FUZZ_ASSERT(dsend_asset_name_valid(a->name));
        FUZZ_ASSERT(a->size > 0 && a->block_size > 0 && a->bitrate_bps > 0 &&
                    a->duration_ns > 0);
        FUZZ_ASSERT(a->blocks == a->size / a->block_size + (a->size % a->block_size != 0));
        FUZZ_ASSERT(dsend_asset_block_len(a, a->blocks - 1) > 0);
        FUZZ_ASSERT(dsend_asset_block_len(a, a->blocks) == 0);
        FUZZ_ASSERT(a->npes <= DSEND_TS_MAX_PES);
        if (a->kind == DSEND_ASSET_MPEGTS)
            FUZZ_ASSERT(a->block_size % DSEND_TS_RTP_PAYLOAD == 0);
        FUZZ_ASSERT(dsend_library_find(&lib, a->name) == (int64_t)i);
    }
    dsend_library_close(&lib);
    return 0;
}
