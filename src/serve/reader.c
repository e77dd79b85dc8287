/* Storage backend `reader` of `serve`: a device below its share reads
 * blocks from the library file on a thread of its own, so a read never
 * stalls the loop.  The thread opens the file serially (read-only, default
 * driver: no other rank involved, closed alone) and, after start-up, is the
 * only thread calling HDF5 (Debian's parallel HDF5 is not thread-safe); it
 * never calls MPI (main asks for MPI_THREAD_FUNNELED).  Reads are done
 * first come first served with the loader's checksum check; each finished
 * read is queued back and an eventfd in the loop's poll set wakes the loop,
 * which hands it to the device (dsend_device_loaded). */
#include "dsend/error.h"
#include "serve/serve_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct read_job {
    struct read_job *next;
    uint32_t asset;
    uint64_t block;
    uint8_t *buf;         /* the cache's (NULL: synthetic, nothing to read) */
    int rc;
    char msg[240];
} read_job;

struct serve_reader {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    read_job *todo, *todo_tail, *done, *done_tail;
    int stop;
    int efd;
    const dsend_library *lib;
    int device;
};

static void push(read_job **head, read_job **tail, read_job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static void *reader_main(void *arg)
{
    serve_reader *r = arg;
    sigset_t all; /* SIGINT and SIGTERM are the loop's to see */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    dsend_block_file f;
    int open_rc = dsend_block_file_open(&f, r->lib);
    char open_msg[240];
    snprintf(open_msg, sizeof open_msg, "%s", open_rc ? dsend_errmsg() : "");
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->todo && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop)
            break; /* reads not done are abandoned: the device stops */
        read_job *j = r->todo;
        if (!(r->todo = j->next))
            r->todo_tail = NULL;
        pthread_mutex_unlock(&r->mu);
        j->rc = !j->buf ? 0
                : open_rc ? open_rc
                          : dsend_block_file_read(&f, r->device, j->asset, j->block, j->buf);
        if (j->rc)
            snprintf(j->msg, sizeof j->msg, "%s", open_rc ? open_msg : dsend_errmsg());
        pthread_mutex_lock(&r->mu);
        push(&r->done, &r->done_tail, j);
        uint64_t one = 1;
        if (write(r->efd, &one, sizeof one) < 0 && errno != EAGAIN)
            break; /* cannot wake the loop: nothing more is read */
    }
    pthread_mutex_unlock(&r->mu);
    if (open_rc == 0)
        dsend_block_file_close(&f);
    return NULL;
}

int serve_reader_start(serve_world *w)
{
    int level = 0;
    MPI_Query_thread(&level);
    if (level < MPI_THREAD_FUNNELED)
        return dsend_seterr(DSEND_EINVAL, "device %d: --ram below its share reads blocks on a "
                                          "thread, and this MPI gives no MPI_THREAD_FUNNELED",
                            w->rank);
    serve_reader *r = calloc(1, sizeof *r);
    if (!r)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    r->lib = &w->lib;
    r->device = w->rank;
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (r->efd < 0 || pthread_create(&r->thread, NULL, reader_main, r) != 0) {
        int e = errno;
        if (r->efd >= 0)
            close(r->efd);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        free(r);
        return dsend_seterr(DSEND_EIO, "device %d: cannot start its reader thread: %s", w->rank,
                            strerror(e));
    }
    w->reader = r;
    return 0;
}

int serve_reader_fd(const serve_world *w)
{
    return w->reader ? w->reader->efd : -1;
}

static void free_jobs(read_job *j)
{
    while (j) {
        read_job *n = j->next;
        free(j);
        j = n;
    }
}

void serve_reader_stop(serve_world *w)
{
    serve_reader *r = w->reader;
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    free_jobs(r->todo);
    free_jobs(r->done);
    close(r->efd);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
    w->reader = NULL;
}

int serve_reader_drain(serve_world *w)
{
    serve_reader *r = w->reader;
    uint64_t n;
    if (!r || read(r->efd, &n, sizeof n) < 0)
        return 0; /* nothing finished (EAGAIN) */
    pthread_mutex_lock(&r->mu);
    read_job *j = r->done;
    r->done = r->done_tail = NULL;
    pthread_mutex_unlock(&r->mu);
    int rc = 0;
    while (j) {
        read_job *next = j->next;
        if (j->rc) /* said once: the block stays failed, its requests are dropped */
            fprintf(stderr, "dsend serve: %s; its send requests are dropped\n", j->msg);
        if (rc == 0)
            rc = dsend_device_loaded(&w->dev, j->asset, j->block, j->rc);
        free(j);
        j = next;
    }
    return rc;
}

static int reader_read(void *ctx, uint32_t asset, uint64_t block, uint8_t *buf, uint64_t len)
{
    serve_world *w = ctx;
    serve_reader *r = w->reader;
    (void)len; /* the block's, known from the library */
    if (!r)
        return dsend_seterr(DSEND_EINVAL, "device %d: no reader thread to read a block",
                            w->rank);
    read_job *j = calloc(1, sizeof *j);
    if (!j)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    j->asset = asset;
    j->block = block;
    j->buf = buf;
    pthread_mutex_lock(&r->mu);
    push(&r->todo, &r->todo_tail, j);
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

void serve_cache_account(void *ctx, int64_t at, int what, uint64_t n)
{
    serve_world *w = ctx;
    dsend_series_note_cache(&w->series, at, w->cfg->interval, what, n);
}

const dsend_storage dsend_storage_reader = {
    .name = "reader",
    .read = reader_read,
};
