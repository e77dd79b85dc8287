/* The --json writer (src/util/json.h). */
#include "util/json.h"

#include <math.h>
#include <stdlib.h>

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* the comma before a member, and its key */
static void member(dsend_json *j, const char *key)
{
    if (j->items[j->depth]++)
        fputs(", ", j->f);
    if (key) {
        put_string(j->f, key);
        fputs(": ", j->f);
    }
}

static void open_level(dsend_json *j, const char *key, char c)
{
    if (j->depth + 1 >= DSEND_JSON_DEPTH)
        return; /* deeper than any command prints: a programming error */
    member(j, key);
    fputc(c, j->f);
    j->depth++;
    j->items[j->depth] = 0;
    j->close[j->depth] = c == '{' ? '}' : ']';
}

void dsend_json_begin(dsend_json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->items[0] = 0;
    open_level(j, NULL, '{');
}

void dsend_json_object(dsend_json *j, const char *key) { open_level(j, key, '{'); }
void dsend_json_array(dsend_json *j, const char *key) { open_level(j, key, '['); }

void dsend_json_end(dsend_json *j)
{
    if (j->depth <= 0)
        return;
    fputc(j->close[j->depth], j->f);
    j->depth--;
}

void dsend_json_finish(dsend_json *j)
{
    while (j->depth > 0)
        dsend_json_end(j);
    fputc('\n', j->f);
}

void dsend_json_str(dsend_json *j, const char *key, const char *v)
{
    member(j, key);
    if (v)
        put_string(j->f, v);
    else
        fputs("null", j->f);
}

void dsend_json_int(dsend_json *j, const char *key, int64_t v)
{
    member(j, key);
    fprintf(j->f, "%lld", (long long)v);
}

void dsend_json_uint(dsend_json *j, const char *key, uint64_t v)
{
    member(j, key);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void dsend_json_real(dsend_json *j, const char *key, double v)
{
    member(j, key);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    /* the shortest form that reads back exactly */
    char buf[32];
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, j->f);
}

void dsend_json_bool(dsend_json *j, const char *key, int v)
{
    member(j, key);
    fputs(v ? "true" : "false", j->f);
}
