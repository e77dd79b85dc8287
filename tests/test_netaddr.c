/* Network addresses: parse, print, socket addresses, comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dsend/error.h"
#include "util/netaddr.h"

static void parse_and_print(void **state)
{
    (void)state;
    struct { const char *in; int family; unsigned port; const char *host, *url, *text; } ok[] = {
        {"127.0.0.1:8554", AF_INET, 8554, "127.0.0.1", "127.0.0.1", "127.0.0.1:8554"},
        {"10.1.2.3", AF_INET, 0, "10.1.2.3", "10.1.2.3", "10.1.2.3"},
        {"0.0.0.0:1", AF_INET, 1, "0.0.0.0", "0.0.0.0", "0.0.0.0:1"},
        {"[::1]:65535", AF_INET6, 65535, "::1", "[::1]", "[::1]:65535"},
        {"[::1]", AF_INET6, 0, "::1", "[::1]", "[::1]"},
        {"::1", AF_INET6, 0, "::1", "[::1]", "[::1]"},
        {"::", AF_INET6, 0, "::", "[::]", "[::]"},
        {"[::]:8554", AF_INET6, 8554, "::", "[::]", "[::]:8554"},
        {"fe80::1:2", AF_INET6, 0, "fe80::1:2", "[fe80::1:2]", "[fe80::1:2]"},
        {"[2001:db8::a]:80", AF_INET6, 80, "2001:db8::a", "[2001:db8::a]", "[2001:db8::a]:80"},
        /* a mapped address is its IPv4 host */
        {"[::ffff:192.0.2.7]:9", AF_INET, 9, "192.0.2.7", "192.0.2.7", "192.0.2.7:9"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        dsend_netaddr a;
        char b[DSEND_NETADDR_STRLEN];
        assert_int_equal(dsend_netaddr_parse(ok[i].in, &a), 0);
        assert_int_equal(a.family, ok[i].family);
        assert_int_equal(a.port, ok[i].port);
        assert_string_equal(dsend_netaddr_host(&a, b, sizeof b), ok[i].host);
        assert_string_equal(dsend_netaddr_url_host(&a, b, sizeof b), ok[i].url);
        assert_string_equal(dsend_netaddr_format(&a, b, sizeof b), ok[i].text);
        /* what it prints parses back to itself */
        dsend_netaddr back;
        assert_int_equal(dsend_netaddr_parse(b, &back), 0);
        assert_true(dsend_netaddr_equal(&a, &back));
    }
}

static void bad_input(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "localhost:80", "1.2.3:80", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
        "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4:80x", "1.2.3.4:123456", ":80", "[::1", "[::1]x",
        "[::1]:", "[::1]:0", "[1.2.3.4]:80", "[]:80", "::1:80:x", "::g", "[::1]:80:80",
        "1.2.3.4 ", " 1.2.3.4", "1.2.3.4:80 ",
        "[aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa]:1",
        "111111111111111111111111111111111111111111111111111111111111.1.1.1:80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dsend_netaddr a;
        dsend_clearerr();
        assert_int_equal(dsend_netaddr_parse(bad[i], &a), DSEND_EINVAL);
        assert_true(strlen(dsend_errmsg()) > 0);
        assert_int_equal(a.family, 0);
    }
    dsend_netaddr a;
    assert_int_equal(dsend_netaddr_parse(NULL, &a), DSEND_EINVAL);
    assert_int_equal(dsend_netaddr_parse("1.2.3.4:0", &a), DSEND_EINVAL);
    assert_string_equal(dsend_errmsg(), "'1.2.3.4:0': the port must be 1 to 65535");
    /* a short buffer truncates, never overflows */
    char small[4] = "xyz";
    assert_int_equal(dsend_netaddr_parse("[::1]:80", &a), 0);
    dsend_netaddr_format(&a, small, sizeof small);
    assert_string_equal(small, "[::");
}

static void sockaddrs(void **state)
{
    (void)state;
    dsend_netaddr a, b;
    struct sockaddr_storage ss;
    /* IPv4: its own family, or mapped into a dual-stack socket's */
    assert_int_equal(dsend_netaddr_parse("192.0.2.7:5004", &a), 0);
    assert_int_equal(dsend_netaddr_to_sockaddr(&a, 0, &ss), sizeof(struct sockaddr_in));
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
    assert_int_equal(s4->sin_family, AF_INET);
    assert_int_equal(ntohs(s4->sin_port), 5004);
    assert_int_equal(ntohl(s4->sin_addr.s_addr), 0xc0000207u);
    assert_int_equal(dsend_netaddr_from_sockaddr((struct sockaddr *)&ss, sizeof *s4, &b), 0);
    assert_true(dsend_netaddr_equal(&a, &b));
    assert_int_equal(dsend_netaddr_to_sockaddr(&a, AF_INET6, &ss), sizeof(struct sockaddr_in6));
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
    assert_int_equal(s6->sin6_family, AF_INET6);
    assert_true(IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr));
    /* the client of a dual-stack socket is the IPv4 host it is */
    assert_int_equal(dsend_netaddr_from_sockaddr((struct sockaddr *)&ss, sizeof *s6, &b), 0);
    assert_true(dsend_netaddr_equal(&a, &b));
    assert_int_equal(b.family, AF_INET);
    /* IPv6 */
    assert_int_equal(dsend_netaddr_parse("[::1]:9", &a), 0);
    assert_int_equal(dsend_netaddr_to_sockaddr(&a, AF_INET, &ss), 0);
    assert_int_equal(dsend_netaddr_to_sockaddr(&a, 0, &ss), sizeof(struct sockaddr_in6));
    assert_true(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
    assert_int_equal(ntohs(s6->sin6_port), 9);
    assert_int_equal(dsend_netaddr_from_sockaddr((struct sockaddr *)&ss, sizeof *s6, &b), 0);
    assert_true(dsend_netaddr_equal(&a, &b));
    /* too short, or another family */
    assert_int_equal(dsend_netaddr_from_sockaddr((struct sockaddr *)&ss, 8, &b), DSEND_EINVAL);
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(dsend_netaddr_from_sockaddr(&un, sizeof un, &b), DSEND_EINVAL);
    /* none: nothing to send to */
    memset(&a, 0, sizeof a);
    assert_int_equal(dsend_netaddr_to_sockaddr(&a, AF_INET6, &ss), 0);
}

static void comparison(void **state)
{
    (void)state;
    dsend_netaddr a, b, c;
    assert_int_equal(dsend_netaddr_parse("127.0.0.1:1", &a), 0);
    assert_int_equal(dsend_netaddr_parse("127.0.0.1:2", &b), 0);
    assert_true(dsend_netaddr_same_host(&a, &b));
    assert_false(dsend_netaddr_equal(&a, &b));
    assert_int_equal(dsend_netaddr_parse("[::ffff:127.0.0.1]:1", &c), 0);
    assert_true(dsend_netaddr_equal(&a, &c));
    assert_int_equal(dsend_netaddr_parse("[::1]:1", &c), 0);
    assert_false(dsend_netaddr_same_host(&a, &c));
    /* from the bytes a peer carries */
    dsend_netaddr d;
    dsend_netaddr_from_bytes(c.addr, 1, &d);
    assert_true(dsend_netaddr_equal(&c, &d));
    dsend_netaddr_from_bytes(a.addr, 1, &d);
    assert_true(dsend_netaddr_equal(&a, &d));
    static const uint8_t zero[16];
    dsend_netaddr_from_bytes(zero, 0, &d);
    assert_int_equal(d.family, 0);
    /* every address of the host */
    assert_int_equal(dsend_netaddr_parse("0.0.0.0", &d), 0);
    assert_true(dsend_netaddr_is_any(&d));
    assert_int_equal(dsend_netaddr_parse("[::]:5", &d), 0);
    assert_true(dsend_netaddr_is_any(&d));
    assert_false(dsend_netaddr_is_any(&a));
    assert_false(dsend_netaddr_is_any(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_and_print),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(sockaddrs),
        cmocka_unit_test(comparison),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
