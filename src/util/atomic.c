/* Temporary outputs and what killed writers leave (util/atomic.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "util/atomic.h"
#include "dsend/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void host_name(char *buf, size_t n)
{
    if (gethostname(buf, n) != 0)
        snprintf(buf, n, "localhost");
    buf[n - 1] = '\0';
    for (char *p = buf; *p; p++) /* a name part, never a path */
        if (*p == '/' || *p == '.')
            *p = '_';
}

int dsend_tmp_path(const char *path, char *buf, size_t n)
{
    char host[256];
    host_name(host, sizeof host);
    int k = snprintf(buf, n, "%s.tmp.%s.%ld", path, host, (long)getpid());
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

int dsend_tmp_commit(const char *tmp, const char *path)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        errno = e;
        return -1;
    }
    close(fd);
    return rename(tmp, path);
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

int dsend_not_written(int rc, const char *path)
{
    if (strncmp(dsend_errmsg(), path, strlen(path)) == 0)
        return rc;
    char why[800];
    snprintf(why, sizeof why, "%s", dsend_errmsg());
    return dsend_seterr(rc, "%s: not written: %s", path, why);
}

int dsend_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void dsend_tmp_sweep(const char *path)
{
    char dir[4096], host[256], prefix[512];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) ? (int)(slash - path) : 1, path);
    else
        snprintf(dir, sizeof dir, ".");
    host_name(host, sizeof host);
    int pn = snprintf(prefix, sizeof prefix, "%s.tmp.", base);
    if (!*base || pn < 0 || (size_t)pn >= sizeof prefix)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, (size_t)pn) != 0)
            continue;
        /* HOST.PID (or, as older writers named it, PID alone) */
        const char *rest = e->d_name + pn, *dot = strrchr(rest, '.');
        const char *pid_s = dot ? dot + 1 : rest;
        if (dot && ((size_t)(dot - rest) != strlen(host) || strncmp(rest, host, strlen(host))))
            continue; /* another host's: its writer may live */
        char *end;
        long pid = strtol(pid_s, &end, 10);
        if (!*pid_s || *end || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* its writer lives */
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        dsend_remove_tree(p);
    }
    closedir(d);
}
