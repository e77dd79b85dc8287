/* Serving across hosts (issue #15, doc/cluster.md): with --data-net CIDR,
 * each device finds its own address in the data network, the devices
 * gather the table of every device's address at the start, and from then on
 * a device listens for RTSP and sends RTP from its own address, and the
 * front redirects a client to device d's own address.  So nothing but MPI
 * crosses the control network.  Without --data-net, every device shares
 * --rtsp's host (all on one host), as before. */
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "dsend/serve.h"
#include "serve/serve_internal.h"
#include "util/check.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dsend_data_net_parse(const char *cidr, struct in_addr *net, struct in_addr *mask)
{
    char a[INET_ADDRSTRLEN];
    const char *slash = cidr ? strchr(cidr, '/') : NULL;
    char *end = NULL;
    long bits = slash ? strtol(slash + 1, &end, 10) : -1;
    if (!slash || (size_t)(slash - cidr) >= sizeof a || end == slash + 1 || *end || bits < 1 ||
        bits > 32)
        return -1;
    snprintf(a, sizeof a, "%.*s", (int)(slash - cidr), cidr);
    if (inet_pton(AF_INET, a, net) != 1)
        return -1;
    mask->s_addr = htonl(bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits));
    net->s_addr &= mask->s_addr;
    return 0;
}

/* this host's first address (of an interface that is up) in cidr */
static int own_address(const char *cidr, dsend_netaddr *out)
{
    struct in_addr net, mask;
    struct ifaddrs *all = NULL;
    if (dsend_data_net_parse(cidr, &net, &mask) != 0 || getifaddrs(&all) != 0)
        return -1;
    int found = -1;
    for (struct ifaddrs *i = all; i && found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP))
            continue;
        struct in_addr a = ((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
        if ((a.s_addr & mask.s_addr) == net.s_addr &&
            dsend_netaddr_from_sockaddr(i->ifa_addr, sizeof(struct sockaddr_in), out) == 0)
            found = 0;
    }
    freeifaddrs(all);
    return found;
}

int serve_data_net_open(serve_world *w)
{
    const char *cidr = w->cfg->data_net;
    int rc = 0;
    if (!cidr)
        return 0;
    dsend_netaddr mine = {0};
    w->data_addr = calloc((size_t)w->size, sizeof *w->data_addr);
    if (!w->data_addr)
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
    else if (own_address(cidr, &mine) != 0) {
        char host[256] = "?";
        gethostname(host, sizeof host - 1);
        rc = dsend_seterr(DSEND_EIO, "device %d on host %s has no address in --data-net %s",
                          w->rank, host, cidr);
    }
    if ((rc = dsend_mpi_agree(w->comm, rc)))
        return rc;
    mine.port = 0; /* each socket's port is its own */
    MPI_CHECK(MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, w->data_addr, (int)sizeof mine,
                            MPI_BYTE, w->comm));
err:
    return rc;
}

const dsend_netaddr *serve_listen_addr(const serve_world *w, int device)
{
    return w->data_addr ? &w->data_addr[device] : &w->host;
}

const char *serve_device_host(const serve_world *w, const conn *c, int device, char *buf,
                              size_t n)
{
    return w->data_addr ? dsend_netaddr_url_host(&w->data_addr[device], buf, n)
                        : serve_url_host(w, c, buf, n);
}
