/* Outputs appear whole or not at all: a writer builds PATH.tmp.HOST.PID
 * next to PATH and renames it into place; a failure removes it, and what a
 * killed writer left (its process gone) is swept by the next writer of
 * PATH before it starts (internal). */
#ifndef DSEND_UTIL_ATOMIC_H
#define DSEND_UTIL_ATOMIC_H

#include <stddef.h>

/* The temporary name of this process's PATH, into buf (0, or -1 if too
 * long). */
int dsend_tmp_path(const char *path, char *buf, size_t n);
/* Into place: the temporary file's bytes reach the disk, then it takes
 * PATH's name (0, or -1 with errno). */
int dsend_tmp_commit(const char *tmp, const char *path);
/* Remove every PATH.tmp.HOST.PID (file or directory) whose writer, a
 * process of this host, is gone; others' are left alone. */
void dsend_tmp_sweep(const char *path);
/* rc, the current error said of PATH: "PATH: not written: WHY" (unless it
 * names PATH already). */
int dsend_not_written(int rc, const char *path);
/* Remove a file or a directory tree (0, or -1). */
int dsend_remove_tree(const char *path);

#endif
