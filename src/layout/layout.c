/* Layout policy registry and validation (see include/dsend/layout.h). */
#include "dsend/layout.h"
#include "dsend/error.h"

#include <string.h>

const dsend_layout_policy *const dsend_layout_policies[] = {
    &dsend_layout_stripe,
    &dsend_layout_hash,
    NULL,
};

const dsend_layout_policy *dsend_layout_find(const char *name)
{
    for (int i = 0; dsend_layout_policies[i]; i++)
        if (strcmp(dsend_layout_policies[i]->name, name) == 0)
            return dsend_layout_policies[i];
    return NULL;
}

int dsend_layout_open(dsend_layout *L, const dsend_layout_policy *p, int devices, int replicas)
{
    memset(L, 0, sizeof *L);
    if (!p)
        return dsend_seterr(DSEND_EINVAL, "no layout policy given");
    /* a backend missing a method is refused, never patched with a default */
    const char *missing = !p->name ? "name" : !p->init ? "init" : !p->place ? "place"
                        : !p->fini ? "fini" : NULL;
    if (missing)
        return dsend_seterr(DSEND_EINVAL, "layout policy '%s' lacks method %s",
                            p->name ? p->name : "(unnamed)", missing);
    if (devices < 1 || devices > DSEND_MAX_DEVICES)
        return dsend_seterr(DSEND_EINVAL, "%d devices: must be between 1 and %d", devices,
                            DSEND_MAX_DEVICES);
    int rmax = devices < DSEND_MAX_REPLICAS ? devices : DSEND_MAX_REPLICAS;
    if (replicas < 1 || replicas > rmax)
        return dsend_seterr(DSEND_EINVAL, "--replicas %d: must be between 1 and %d%s", replicas,
                            rmax, rmax == devices ? " (the number of devices)" : "");
    L->policy = p;
    L->devices = devices;
    L->replicas = replicas;
    int rc = p->init(L);
    if (rc)
        memset(L, 0, sizeof *L);
    return rc;
}

void dsend_layout_close(dsend_layout *L)
{
    if (L->policy)
        L->policy->fini(L);
    memset(L, 0, sizeof *L);
}

int dsend_layout_holds(const dsend_layout *L, uint32_t asset, uint64_t block, int device,
                       int *replica)
{
    int dev[DSEND_MAX_REPLICAS];
    dsend_layout_place(L, asset, block, dev);
    for (int r = 0; r < L->replicas; r++)
        if (dev[r] == device) {
            if (replica)
                *replica = r;
            return 1;
        }
    return 0;
}
