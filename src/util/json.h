/* A small streaming JSON writer for the --json output of every command:
 * it keeps the commas and the escaping right, so commands only say what
 * they print.  Numbers that JSON cannot hold (NaN, infinities) are null. */
#ifndef DSEND_UTIL_JSON_H
#define DSEND_UTIL_JSON_H

#include <stdint.h>
#include <stdio.h>

#define DSEND_JSON_DEPTH 16

typedef struct dsend_json {
    FILE *f;
    int depth;
    int items[DSEND_JSON_DEPTH]; /* members written so far, per open level */
    char close[DSEND_JSON_DEPTH]; /* the bracket that closes each level */
} dsend_json;

/* Open the top-level object. */
void dsend_json_begin(dsend_json *j, FILE *f);
/* Close everything still open and end the line. */
void dsend_json_finish(dsend_json *j);
/* A member `key` (NULL inside an array) that is an object or an array;
 * dsend_json_end closes it. */
void dsend_json_object(dsend_json *j, const char *key);
void dsend_json_array(dsend_json *j, const char *key);
void dsend_json_end(dsend_json *j);
void dsend_json_str(dsend_json *j, const char *key, const char *v);
void dsend_json_int(dsend_json *j, const char *key, int64_t v);
void dsend_json_uint(dsend_json *j, const char *key, uint64_t v);
void dsend_json_real(dsend_json *j, const char *key, double v);
void dsend_json_bool(dsend_json *j, const char *key, int v);

#endif
