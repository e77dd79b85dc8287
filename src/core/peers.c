/* The sessions a device knows of: open addressing by client id, so a
 * sender's check of every packet's epoch is one probe. */
#include "dsend/core.h"
#include "dsend/error.h"
#include "dsend/checksum.h"

#include <stdlib.h>
#include <string.h>

int dsend_peers_init(dsend_peers *t, uint32_t expect)
{
    memset(t, 0, sizeof *t);
    t->cap = 64;
    t->gen = 1;
    while (t->cap < 2 * expect && t->cap < (1u << 30))
        t->cap *= 2;
    t->slot = calloc(t->cap, sizeof *t->slot);
    return t->slot ? 0 : dsend_seterr(DSEND_ENOMEM, "out of memory for %u sessions", expect);
}

void dsend_peers_free(dsend_peers *t)
{
    free(t->slot);
    memset(t, 0, sizeof *t);
}

static dsend_peer *probe(const dsend_peers *t, uint32_t client, int *found)
{
    uint32_t i = (uint32_t)dsend_mix64(client) & (t->cap - 1);
    for (;; i = (i + 1) & (t->cap - 1)) {
        dsend_peer *p = &t->slot[i];
        if (!p->open || p->client == client) {
            *found = p->open;
            return p; /* the table is never full: it doubles at half */
        }
    }
}

static int grow(dsend_peers *t)
{
    dsend_peers bigger = {.cap = t->cap * 2, .gen = t->gen};
    bigger.slot = calloc(bigger.cap, sizeof *bigger.slot);
    if (!bigger.slot)
        return dsend_seterr(DSEND_ENOMEM, "out of memory for %u sessions", t->n);
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->slot[i].open) {
            int f;
            *probe(&bigger, t->slot[i].client, &f) = t->slot[i];
        }
    bigger.n = t->n;
    free(t->slot);
    *t = bigger;
    return 0;
}

int dsend_peers_update(dsend_peers *t, const dsend_peer *p)
{
    t->gen++;
    int found;
    dsend_peer *s = probe(t, p->client, &found);
    if (p->open) {
        if (!found) {
            if (2 * (t->n + 1) > t->cap) {
                int rc = grow(t);
                if (rc)
                    return rc;
                s = probe(t, p->client, &found);
            }
            t->n++;
        }
        *s = *p;
        return 0;
    }
    if (!found)
        return 0;
    /* forget it, and re-insert the rest of its probe run */
    s->open = 0;
    t->n--;
    uint32_t i = (uint32_t)(s - t->slot);
    for (i = (i + 1) & (t->cap - 1); t->slot[i].open; i = (i + 1) & (t->cap - 1)) {
        dsend_peer moved = t->slot[i];
        t->slot[i].open = 0;
        int f;
        *probe(t, moved.client, &f) = moved;
    }
    return 0;
}

const dsend_peer *dsend_peers_find(const dsend_peers *t, uint32_t client)
{
    int found;
    const dsend_peer *p = probe(t, client, &found);
    return found ? p : NULL;
}

int dsend_peers_current(const dsend_peers *t, uint32_t client, uint32_t epoch)
{
    const dsend_peer *p = dsend_peers_find(t, client);
    return p ? p->epoch == epoch : epoch == 0;
}
