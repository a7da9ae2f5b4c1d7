/* Link names (src/link/link.c): one table of inputs and the struct each one
 * parses to, or the refusal; then the cases a table of literals cannot hold
 * (NULL, very long inputs, a NULL error struct), and jet_link_open() for the
 * kinds this build does not implement and for a LAN that does not exist.
 * Every refusal must come with a non-empty reason in struct jet_err. */
#include <errno.h>

#include "check.h"
#include "jet/lan.h"
#include "jet/link.h"

#define S8     "abcdefgh"
#define NAME48 S8 S8 S8 S8 S8 S8 /* JET_LAN_NAME_MAX characters */
#define IF15   "abcdefghijklmno" /* IFNAMSIZ - 1 characters */
#define IF16   IF15 "p"

enum {
    LAN = JET_LINK_LAN,
    TAP = JET_LINK_TAP,
    PKT = JET_LINK_PACKET,
    XDP = JET_LINK_XDP,
    UDP = JET_LINK_UDP,
    LOOP = JET_LINK_LOOP
};

struct row {
    const char *in;
    int rc; /* 0 or -EINVAL; the fields below only matter when 0 */
    int kind;
    const char *name; /* LAN or interface name, NULL for "" */
    const char *host; /* udp host, NULL for "" */
    uint16_t port;
    uint32_t queue;
};

/* clang-format off */
#define OK(in, kind, name, host, port, queue) { in, 0, kind, name, host, port, queue }
#define BAD(in) { in, -EINVAL, 0, NULL, NULL, 0, 0 }
/* clang-format on */

static const struct row rows[] = {
    /* every kind, valid */
    OK("lan:test", LAN, "test", NULL, 0, 0),
    OK("lan:a", LAN, "a", NULL, 0, 0),
    OK("lan:A-b_c.9", LAN, "A-b_c.9", NULL, 0, 0),
    OK("lan:a..b.", LAN, "a..b.", NULL, 0, 0),
    OK("lan:0", LAN, "0", NULL, 0, 0),
    OK("lan:" NAME48, LAN, NAME48, NULL, 0, 0),
    OK("loop:t", LOOP, "t", NULL, 0, 0),
    OK("loop:A-b_c.9", LOOP, "A-b_c.9", NULL, 0, 0),
    OK("loop:0", LOOP, "0", NULL, 0, 0),
    OK("loop:" NAME48, LOOP, NAME48, NULL, 0, 0),
    OK("tap:tap0", TAP, "tap0", NULL, 0, 0),
    OK("tap:" IF15, TAP, IF15, NULL, 0, 0),
    OK("packet:eth0", PKT, "eth0", NULL, 0, 0),
    OK("packet:enp3s0f1.100", PKT, "enp3s0f1.100", NULL, 0, 0),
    OK("packet:" IF15, PKT, IF15, NULL, 0, 0),
    OK("xdp:eth0@0", XDP, "eth0", NULL, 0, 0),
    OK("xdp:eth0@3", XDP, "eth0", NULL, 0, 3),
    OK("xdp:enp3s0f1@63", XDP, "enp3s0f1", NULL, 0, 63),
    OK("xdp:" IF15 "@1", XDP, IF15, NULL, 0, 1),
    OK("udp:127.0.0.1:9000", UDP, NULL, "127.0.0.1", 9000, 0),
    OK("udp:localhost:1", UDP, NULL, "localhost", 1, 0),
    OK("udp:example.com:65535", UDP, NULL, "example.com", 65535, 0),
    OK("udp:[::1]:5000", UDP, NULL, "::1", 5000, 0),
    OK("udp:[2001:db8::7]:4789", UDP, NULL, "2001:db8::7", 4789, 0),
    OK("udp:[fe80::1%eth0]:4789", UDP, NULL, "fe80::1%eth0", 4789, 0),

    /* no KIND:ARG */
    BAD(""),
    BAD("lan"),
    BAD("eth0"),
    BAD("lan-test"),
    /* unknown kind */
    BAD(":"),
    BAD(":test"),
    BAD("foo:bar"),
    BAD("la:test"),
    BAD("lann:test"),
    BAD("pkt:eth0"),
    BAD("udp6:[::1]:5000"),
    /* empty argument, every kind */
    BAD("lan:"),
    BAD("tap:"),
    BAD("packet:"),
    BAD("xdp:"),
    BAD("udp:"),

    /* LAN names: 1..48 of [A-Za-z0-9_-.], not starting with '.' */
    BAD("lan:" NAME48 "x"),
    BAD("lan:.a"),
    BAD("lan:."),
    BAD("lan:.."),
    BAD("lan:a/b"),
    BAD("lan:../x"),
    BAD("lan:a b"),
    BAD("lan:a:b"),
    BAD("lan:a@b"),
    BAD("lan:a\tb"),
    BAD("lan:a\x7f"),
    BAD("lan:caf\xc3\xa9"),
    BAD("lan:a*"),

    /* loop names: the same grammar as LAN names */
    BAD("loop:"),
    BAD("loop"),
    BAD("loo:x"),
    BAD("loopx:x"),
    BAD("loop:" NAME48 "x"),
    BAD("loop:.a"),
    BAD("loop:a/b"),
    BAD("loop:a:b"),
    BAD("loop:a b"),
    BAD("loop:a@0"),
    BAD("loop:caf\xc3\xa9"),

    /* interface names: 1..15 characters, no '/', ':', '@' or blanks */
    BAD("tap:" IF16),
    BAD("packet:" IF16),
    BAD("tap:a/b"),
    BAD("tap:a:b"),
    BAD("tap:a@b"),
    BAD("tap:a b"),
    BAD("packet:eth/0"),
    BAD("packet:eth:0"),
    BAD("packet:eth0@1"),
    BAD("packet:\teth0"),

    /* xdp:IF@Q */
    OK("xdp:eth0", XDP, "eth0", NULL, 0, 0), /* queue 0 */
    BAD("xdp:eth0@"),
    BAD("xdp:@0"),
    BAD("xdp:eth0@x"),
    BAD("xdp:eth0@1x"),
    BAD("xdp:eth0@0x1"),
    BAD("xdp:eth0@-1"),
    BAD("xdp:eth0@+1"),
    BAD("xdp:eth0@ 1"),
    BAD("xdp:eth0@1000000"),
    BAD("xdp:eth0@4294967295"),
    BAD("xdp:eth0@4294967296"),
    BAD("xdp:eth0@99999999999999999999"),
    BAD("xdp:" IF16 "@0"),
    BAD("xdp:a/b@0"),
    BAD("xdp:a:b@0"),
    BAD("xdp:a@b@0"),

    /* udp:HOST:PORT and udp:[IPV6]:PORT */
    BAD("udp:host"),
    BAD("udp:host:"),
    BAD("udp::5000"),
    BAD("udp:::1:5000"),       /* bare IPv6 */
    BAD("udp:fe80::1:5000"),   /* bare IPv6 */
    BAD("udp:2001:db8::7:80"), /* bare IPv6 */
    BAD("udp:[::1]"),
    BAD("udp:[::1]5000"),
    BAD("udp:[::1]:"),
    BAD("udp:[::1:5000"),
    BAD("udp:[]:5000"),
    BAD("udp:[::1]x:5000"),
    BAD("udp:[::1]:5000:1"),
    BAD("udp:[[::1]:5000"), /* a host cannot contain '[' */
    BAD("udp:h:0"),
    BAD("udp:h:65536"),
    BAD("udp:h:99999999999"),
    BAD("udp:h:http"),
    BAD("udp:h:-1"),
    BAD("udp:h:+80"),
    BAD("udp:h:80x"),
    BAD("udp:h: 80"),
    BAD("udp:[::1]:0"),
    BAD("udp:[::1]:65536"),
    BAD("udp:[::1]:port"),
    BAD("udp:h:80,"),
    BAD("udp:h:80,bind"),
    BAD("udp:h:80,bind="),
    BAD("udp:h:80,bind=x"),
    BAD("udp:h:80,bind=:5"),
    BAD("udp:h:80,bind=1.2.3.4:"),
    BAD("udp:h:80,bind=1.2.3.4:65536"),
    BAD("udp:h:80,bind=::1:5"),
    BAD("udp:h:80,bind=[::1]5"),
    BAD("udp:h:80,bind=[::1:5"),
    BAD("udp:h:80,port=5"),
    BAD("udp:h:80,bind=a b:5"),
    BAD("udp:a b:80"),
    BAD("udp:a/b:80"),
    BAD("udp:a\tb:80"),
};

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* Parses r->in, with an error struct and without one, and compares. */
static void check_row(const struct row *r)
{
    struct jet_link_name n;
    struct jet_err err = {0};
    memset(&n, 0xa5, sizeof n);
    int rc = jet_link_name_parse(r->in, &n, &err);
    if (rc != r->rc)
        fprintf(stderr, "input '%s': rc %d, expected %d (%s)\n", r->in, rc, r->rc, err.msg);
    CHECK_EQ(rc, r->rc);
    if (rc == 0 && r->rc == 0) {
        CHECK_EQ(n.kind, r->kind);
        CHECK(memchr(n.name, 0, sizeof n.name) != NULL);
        CHECK(memchr(n.host, 0, sizeof n.host) != NULL);
        if (strcmp(n.name, or_empty(r->name)) || strcmp(n.host, or_empty(r->host)))
            fprintf(stderr, "input '%s': name '%.64s' host '%.256s'\n", r->in, n.name, n.host);
        CHECK(strcmp(n.name, or_empty(r->name)) == 0);
        CHECK(strcmp(n.host, or_empty(r->host)) == 0);
        CHECK_EQ(n.port, r->port);
        CHECK_EQ(n.queue, r->queue);
    }
    if (rc != 0) {
        /* every refusal explains itself */
        CHECK(err.msg[0] != 0);
        CHECK(memchr(err.msg, 0, sizeof err.msg) != NULL);
        CHECK_EQ(err.code, rc);
    }
    /* err is optional */
    struct jet_link_name n2;
    CHECK_EQ(jet_link_name_parse(r->in, &n2, NULL), rc);
}

static void test_table(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        check_row(&rows[i]);
}

/* Checks a refusal of s: -EINVAL and a reason. */
static void check_refused(const char *s)
{
    struct jet_link_name n;
    struct jet_err err = {0};
    int rc = jet_link_name_parse(s, &n, &err);
    if (rc != -EINVAL)
        fprintf(stderr, "input '%.80s...' (%zu bytes): rc %d\n", s ? s : "(null)",
                s ? strlen(s) : 0, rc);
    CHECK_EQ(rc, -EINVAL);
    CHECK(err.msg[0] != 0);
    CHECK_EQ(err.code, -EINVAL);
}

/* udp:'s bind option: the local address and port it names. */
static void test_udp_bind(void)
{
    static const struct {
        const char *in, *host, *bhost;
        uint16_t port, bport;
    } t[] = {
        {"udp:198.18.0.2:9000,bind=9001", "198.18.0.2", "", 9000, 9001},
        {"udp:198.18.0.2:9000,bind=198.18.0.1:9001", "198.18.0.2", "198.18.0.1", 9000, 9001},
        {"udp:198.18.0.2:9000,bind=198.18.0.1:0", "198.18.0.2", "198.18.0.1", 9000, 0},
        {"udp:[::1]:9000,bind=[::1]:65535", "::1", "::1", 9000, 65535},
        {"udp:h:1,bind=0", "h", "", 1, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct jet_link_name n;
        struct jet_err err = {0};
        int rc = jet_link_name_parse(t[i].in, &n, &err);
        if (rc)
            fprintf(stderr, "'%s': %s\n", t[i].in, err.msg);
        CHECK_EQ(rc, 0);
        CHECK_EQ(n.kind, JET_LINK_UDP);
        CHECK(!strcmp(n.host, t[i].host));
        CHECK(!strcmp(n.bind_host, t[i].bhost));
        CHECK_EQ(n.port, t[i].port);
        CHECK_EQ(n.bind_port, t[i].bport);
    }
}

static void test_null(void)
{
    check_refused(NULL);
    struct jet_link_name n;
    CHECK_EQ(jet_link_name_parse(NULL, &n, NULL), -EINVAL);
}

/* Inputs too long to write as literals. */
static void test_long(void)
{
    enum { BIG = 100000 };
    char *s = malloc(BIG + 1);
    REQUIRE(s);

    /* the longest udp host that fits: "udp:" + 250 + ":1" is a 252-byte argument */
    memset(s, 0, BIG + 1);
    memcpy(s, "udp:", 4);
    memset(s + 4, 'h', 250);
    memcpy(s + 254, ":1", 2);
    struct jet_link_name n;
    struct jet_err err = {0};
    CHECK_EQ(jet_link_name_parse(s, &n, &err), 0);
    CHECK_EQ(n.kind, JET_LINK_UDP);
    CHECK_EQ(strlen(n.host), 250);
    CHECK_EQ(n.port, 1);

    /* argument of 256 bytes and more: refused whatever the kind */
    static const char *const kinds[] = {"lan:", "loop:", "tap:", "packet:", "xdp:", "udp:", "zz:"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t kl = strlen(kinds[k]);
        memset(s, 0, BIG + 1);
        memcpy(s, kinds[k], kl);
        memset(s + kl, 'a', 256);
        check_refused(s);
        memset(s + kl, 'a', BIG - kl);
        check_refused(s);
    }
    /* a long udp name with a port */
    memset(s, 0, BIG + 1);
    memcpy(s, "udp:", 4);
    memset(s + 4, 'h', 300);
    memcpy(s + 304, ":80", 3);
    check_refused(s);
    /* one long word, no colon */
    memset(s, 'x', BIG);
    s[BIG] = 0;
    check_refused(s);
    /* a long kind */
    s[BIG - 5] = ':';
    check_refused(s);
    free(s);
}

static void test_open(void)
{
    /* a real link on an interface that does not exist: -ENODEV, and the
     * reason names it (privilege is checked after: a missing interface is
     * the first thing to hear about) */
    static const char *const absent[] = {"packet:jt-nosuchif0", "xdp:jt-nosuchif0",
                                         "xdp:jt-nosuchif0@3"};
    struct jet_link_opts opts = {.station = -1};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        struct jet_link *l = NULL;
        struct jet_err err = {0};
        int rc = jet_link_open(absent[i], &opts, &l, &err);
        if (rc != -ENODEV)
            fprintf(stderr, "open '%s': rc %d (%s)\n", absent[i], rc, err.msg);
        CHECK_EQ(rc, -ENODEV);
        CHECK_EQ(err.code, -ENODEV);
        CHECK(strstr(err.msg, "jt-nosuchif0") != NULL);
        if (rc == 0)
            jet_link_close(l);
    }

    struct jet_link *l = NULL;
    struct jet_err err = {0};
    int rc = jet_link_open("lan:no-such-lan-zz", &opts, &l, &err);
    if (rc != -ENOENT)
        fprintf(stderr, "open lan:no-such-lan-zz: rc %d (%s)\n", rc, err.msg);
    CHECK_EQ(rc, -ENOENT);
    CHECK(err.msg[0] != 0);
    CHECK(strstr(err.msg, "no-such-lan-zz") != NULL);
    if (rc == 0)
        jet_link_close(l);

    /* opts may be NULL */
    memset(&err, 0, sizeof err);
    l = NULL;
    CHECK_EQ(jet_link_open("lan:no-such-lan-zz", NULL, &l, &err), -ENOENT);
    if (l && err.code == 0)
        jet_link_close(l);

    /* a bad name is refused before anything is opened */
    memset(&err, 0, sizeof err);
    l = NULL;
    CHECK_EQ(jet_link_open("lan:.hidden", &opts, &l, &err), -EINVAL);
    CHECK(err.msg[0] != 0);
    memset(&err, 0, sizeof err);
    CHECK_EQ(jet_link_open(NULL, &opts, &l, &err), -EINVAL);
    CHECK(err.msg[0] != 0);
    memset(&err, 0, sizeof err);
    CHECK_EQ(jet_link_open("tap:" IF16, &opts, &l, &err), -EINVAL);
    CHECK(err.msg[0] != 0);
}

/* loop: ends meet by name; numbers taken, free and out of range; the
 * network is gone once its last end closes. */
static void test_open_loop(void)
{
    struct jet_link *a = NULL, *b = NULL, *c = NULL;
    struct jet_err err = {0};
    struct jet_link_opts any = {.station = -1}, five = {.station = 5};
    REQUIRE(jet_link_open("loop:t-link", &any, &a, &err) == 0);
    REQUIRE(jet_link_open("loop:t-link", NULL, &b, &err) == 0);
    CHECK_EQ(a->caps.addr, 0);
    CHECK_EQ(b->caps.addr, 1);
    CHECK(strcmp(a->name, "loop:t-link") == 0);
    CHECK(strcmp(a->ops->kind, "loop") == 0);
    CHECK(a->caps.native && a->caps.eth && a->caps.has_mac && a->caps.zero_copy);
    CHECK_EQ(a->caps.mtu, 9000);
    /* 02:4a:4c:xx:yy:addr, xx:yy from the name */
    CHECK(a->caps.mac[0] == 0x02 && a->caps.mac[1] == 0x4a && a->caps.mac[2] == 0x4c);
    CHECK_EQ(a->caps.mac[5], 0);
    CHECK_EQ(b->caps.mac[5], 1);
    CHECK(!memcmp(a->caps.mac, b->caps.mac, 5));
    REQUIRE(jet_link_open("loop:t-link", &five, &c, &err) == 0);
    CHECK_EQ(c->caps.addr, 5);
    struct jet_link *d = NULL;
    memset(&err, 0, sizeof err);
    CHECK_EQ(jet_link_open("loop:t-link", &five, &d, &err), -EADDRINUSE);
    CHECK(strstr(err.msg, "t-link") != NULL);
    struct jet_link_opts bad = {.station = 64};
    memset(&err, 0, sizeof err);
    CHECK_EQ(jet_link_open("loop:t-link", &bad, &d, &err), -ERANGE);
    CHECK(err.msg[0] != 0);
    /* another name is another network: its first end is 0 */
    REQUIRE(jet_link_open("loop:t-link2", &any, &d, &err) == 0);
    CHECK_EQ(d->caps.addr, 0);
    CHECK(memcmp(d->caps.mac, a->caps.mac, 5) != 0);
    jet_link_close(d);
    jet_link_close(b);
    REQUIRE(jet_link_open("loop:t-link", &any, &b, &err) == 0);
    CHECK_EQ(b->caps.addr, 1); /* the first free number again */
    /* all 64 taken: -EBUSY */
    struct jet_link *all[64] = {0};
    unsigned n = 0;
    while (n < 64 && jet_link_open("loop:t-link", &any, &all[n], &err) == 0)
        n++;
    CHECK_EQ(n, 61);
    memset(&err, 0, sizeof err);
    CHECK_EQ(jet_link_open("loop:t-link", &any, &d, &err), -EBUSY);
    CHECK(err.msg[0] != 0);
    for (unsigned i = 0; i < n; i++)
        jet_link_close(all[i]);
    jet_link_close(a);
    jet_link_close(b);
    jet_link_close(c);
    /* gone with its last end: a new network starts from 0 */
    REQUIRE(jet_link_open("loop:t-link", &five, &c, &err) == 0);
    REQUIRE(jet_link_open("loop:t-link", &any, &a, &err) == 0);
    CHECK_EQ(a->caps.addr, 0);
    jet_link_close(a);
    jet_link_close(c);
}

int main(void)
{
    test_table();
    test_udp_bind();
    test_null();
    test_long();
    test_open();
    test_open_loop();
    return check_done("test_link");
}
