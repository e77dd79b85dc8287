/* Network addresses: parse, print, socket addresses, comparison (netaddr.h). */
#include "util/netaddr.h"
#include "dsend/error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void set_v4(dsend_netaddr *a, const void *in4)
{
    memcpy(a->addr, v4_prefix, sizeof v4_prefix);
    memcpy(a->addr + 12, in4, 4);
    a->family = AF_INET;
}

/* 1..65535, decimal digits only */
static int parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 5 || s[n])
        return -1;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned long)(s[i] - '0');
    if (v < 1 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int dsend_netaddr_parse(const char *s, dsend_netaddr *a)
{
    char host[INET6_ADDRSTRLEN];
    const char *port = NULL;
    size_t hn;
    memset(a, 0, sizeof *a);
    if (!s || !*s)
        return dsend_seterr(DSEND_EINVAL, "an empty address");
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb)
            return dsend_seterr(DSEND_EINVAL, "'%s': no ']' after the IPv6 address", s);
        if (rb[1] && rb[1] != ':')
            return dsend_seterr(DSEND_EINVAL, "'%s': want [IPv6]:PORT", s);
        port = rb[1] ? rb + 2 : NULL;
        hn = (size_t)(rb - s - 1);
        if (hn >= sizeof host || (memcpy(host, s + 1, hn), host[hn] = 0,
                                  inet_pton(AF_INET6, host, a->addr) != 1))
            return dsend_seterr(DSEND_EINVAL, "'%s': not an IPv6 address in brackets", s);
        a->family = AF_INET6;
        /* an IPv4-mapped address is the IPv4 host it maps */
        if (memcmp(a->addr, v4_prefix, sizeof v4_prefix) == 0)
            a->family = AF_INET;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) { /* a bare IPv6 address */
            struct in6_addr in6;
            if (strlen(s) >= sizeof host || inet_pton(AF_INET6, s, &in6) != 1)
                return dsend_seterr(DSEND_EINVAL, "'%s': not an IPv6 address (with a port: "
                                                  "[V6]:PORT)", s);
            dsend_netaddr_from_bytes(in6.s6_addr, 0, a);
            if (!a->family) /* "::" */
                a->family = AF_INET6;
            return 0;
        }
        hn = colon ? (size_t)(colon - s) : strlen(s);
        port = colon ? colon + 1 : NULL;
        struct in_addr in4;
        if (hn >= sizeof host || (memcpy(host, s, hn), host[hn] = 0,
                                  inet_pton(AF_INET, host, &in4) != 1))
            return dsend_seterr(DSEND_EINVAL, "'%s': not an IPv4 address%s", s,
                                colon ? " and a port" : "");
        set_v4(a, &in4);
    }
    if (port && parse_port(port, &a->port) != 0) {
        memset(a, 0, sizeof *a);
        return dsend_seterr(DSEND_EINVAL, "'%s': the port must be 1 to 65535", s);
    }
    return 0;
}

const char *dsend_netaddr_host(const dsend_netaddr *a, char *buf, size_t n)
{
    const void *src = a->family == AF_INET ? (const void *)(a->addr + 12) : a->addr;
    if (n == 0)
        return buf;
    if (!a->family || !inet_ntop(a->family, src, buf, (socklen_t)n))
        buf[0] = 0;
    return buf;
}

const char *dsend_netaddr_url_host(const dsend_netaddr *a, char *buf, size_t n)
{
    char h[INET6_ADDRSTRLEN];
    dsend_netaddr_host(a, h, sizeof h);
    snprintf(buf, n, a->family == AF_INET6 ? "[%s]" : "%s", h);
    return buf;
}

const char *dsend_netaddr_format(const dsend_netaddr *a, char *buf, size_t n)
{
    char h[INET6_ADDRSTRLEN + 2];
    dsend_netaddr_url_host(a, h, sizeof h);
    if (a->port)
        snprintf(buf, n, "%s:%u", h, (unsigned)a->port);
    else
        snprintf(buf, n, "%s", h);
    return buf;
}

socklen_t dsend_netaddr_to_sockaddr(const dsend_netaddr *a, int family,
                                    struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (!family)
        family = a->family;
    if (family == AF_INET && a->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        memcpy(&s4->sin_addr, a->addr + 12, 4);
        return sizeof *s4;
    }
    if (family == AF_INET6 && a->family) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        memcpy(&s6->sin6_addr, a->addr, 16);
        return sizeof *s6;
    }
    return 0;
}

int dsend_netaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, dsend_netaddr *a)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        set_v4(a, &s4->sin_addr);
        a->port = ntohs(s4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(a->addr, &s6->sin6_addr, 16);
        a->family = memcmp(a->addr, v4_prefix, sizeof v4_prefix) == 0 ? AF_INET : AF_INET6;
        a->port = ntohs(s6->sin6_port);
        return 0;
    }
    return dsend_seterr(DSEND_EINVAL, "a socket address of family %d", (int)sa->sa_family);
}

void dsend_netaddr_from_bytes(const uint8_t addr[16], uint16_t port, dsend_netaddr *a)
{
    static const uint8_t zero[16];
    memcpy(a->addr, addr, 16);
    a->port = port;
    a->family = memcmp(addr, zero, 16) == 0              ? 0
                : memcmp(addr, v4_prefix, sizeof v4_prefix) == 0 ? AF_INET
                                                                 : AF_INET6;
}

int dsend_netaddr_same_host(const dsend_netaddr *a, const dsend_netaddr *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0;
}

int dsend_netaddr_equal(const dsend_netaddr *a, const dsend_netaddr *b)
{
    return dsend_netaddr_same_host(a, b) && a->port == b->port;
}

int dsend_netaddr_is_any(const dsend_netaddr *a)
{
    static const uint8_t zero[16];
    if (a->family == AF_INET)
        return memcmp(a->addr + 12, zero, 4) == 0;
    return a->family == AF_INET6 && memcmp(a->addr, zero, 16) == 0;
}
