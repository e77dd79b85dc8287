/* One network address (IPv4 or IPv6) and port, as serve and its clients
 * name them: parsed from the command line and URLs ("HOST:PORT",
 * "[V6]:PORT", a bare HOST), printed into URLs (brackets for IPv6), turned
 * into and out of socket addresses, compared.  Numeric addresses only: a
 * host name is a deployment's business (--advertise may name one).
 *
 * An IPv4 address is held in the IPv4-mapped form (::ffff:a.b.c.d), so
 * every address is 16 bytes and compares as such: an IPv4 client reaching a
 * dual-stack socket ([::]) is the same host as its dotted form. */
#ifndef DSEND_NETADDR_H
#define DSEND_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct dsend_netaddr {
    uint16_t family;  /* AF_INET or AF_INET6; 0: none */
    uint16_t port;    /* host order; 0: none given */
    uint8_t addr[16]; /* network order; AF_INET: the IPv4-mapped form */
} dsend_netaddr;

/* the longest text dsend_netaddr_format writes: "[" V6 "]:" PORT */
#define DSEND_NETADDR_STRLEN 56

/* "1.2.3.4", "1.2.3.4:P", "::1", "[::1]", "[::1]:P" (a bare IPv6 address
 * takes no port: "[V6]:P" does).  Ports are 1..65535; 0 in a->port: none
 * given.  DSEND_EINVAL (a one-line reason, dsend_errmsg) if it is none of
 * these. */
int dsend_netaddr_parse(const char *s, dsend_netaddr *a);
/* The host as URLs want it: "1.2.3.4", "[::1]".  Returns buf. */
const char *dsend_netaddr_url_host(const dsend_netaddr *a, char *buf, size_t n);
/* The host without brackets ("::1"), as in an RTSP Transport header. */
const char *dsend_netaddr_host(const dsend_netaddr *a, char *buf, size_t n);
/* "1.2.3.4:P", "[::1]:P" (the host alone if no port).  Returns buf. */
const char *dsend_netaddr_format(const dsend_netaddr *a, char *buf, size_t n);

/* Into a socket address of `family` (0: the address's own).  An IPv4
 * address goes into AF_INET6 as its mapped form (a dual-stack socket); an
 * IPv6 one does not go into AF_INET.  Returns the length, 0 if it cannot. */
socklen_t dsend_netaddr_to_sockaddr(const dsend_netaddr *a, int family,
                                    struct sockaddr_storage *ss);
/* From a socket address (an IPv4-mapped AF_INET6 one becomes AF_INET).
 * DSEND_EINVAL if it is of neither family. */
int dsend_netaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, dsend_netaddr *a);
/* From 16 bytes as held (an all-zero address: none, family 0). */
void dsend_netaddr_from_bytes(const uint8_t addr[16], uint16_t port, dsend_netaddr *a);

/* Same host (address and family), ports aside. */
int dsend_netaddr_same_host(const dsend_netaddr *a, const dsend_netaddr *b);
/* Same host and port. */
int dsend_netaddr_equal(const dsend_netaddr *a, const dsend_netaddr *b);
/* Every address of the host: 0.0.0.0 or :: */
int dsend_netaddr_is_any(const dsend_netaddr *a);

#endif
