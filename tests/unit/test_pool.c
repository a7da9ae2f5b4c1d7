/* Buffer pool: allocation, ownership, reclaim, and two processes hammering
 * one shared pool (no buffer ever handed to two owners, none lost). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "jet/pool.h"

static bool alive_odd(uint32_t owner, void *arg)
{
    (void)arg;
    return owner & 1;
}

static void test_basic(void)
{
    CHECK_EQ(jet_pool_region_size(0, 64), 0);
    CHECK_EQ(jet_pool_region_size(4, 0), 0);
    size_t sz = jet_pool_region_size(100, 1000);
    REQUIRE(sz > 100 * 1000);
    void *region = aligned_alloc(64, (sz + 63) & ~(size_t)63);
    REQUIRE(region);
    CHECK_EQ(jet_pool_format(region, sz - 1, 100, 1000), -EINVAL);
    CHECK_EQ(jet_pool_format((char *)region + 8, sz, 100, 1000), -EINVAL);
    REQUIRE(jet_pool_format(region, sz, 100, 1000) == 0);
    struct jet_pool p;
    REQUIRE(jet_pool_view(&p, region, sz) == 0);
    CHECK_EQ(p.buf_size, 1024); /* rounded to 64 */
    struct jet_pool_stats st;
    jet_pool_get_stats(&p, &st);
    CHECK_EQ(st.free, 100);

    uint32_t idx[128];
    CHECK_EQ(jet_pool_alloc(&p, 7, idx, 60), 60);
    CHECK_EQ(jet_pool_alloc(&p, 8, idx + 60, 60), 40); /* only 40 left */
    CHECK_EQ(jet_pool_alloc(&p, 8, idx + 100, 1), 0);
    for (int i = 0; i < 60; i++)
        CHECK_EQ(jet_pool_owner(&p, idx[i]), 7);
    /* every index distinct and in range, buffers do not overlap */
    uint8_t seen[100] = {0};
    for (int i = 0; i < 100; i++) {
        REQUIRE(idx[i] < 100);
        CHECK(!seen[idx[i]]);
        seen[idx[i]] = 1;
        memset(jet_pool_buf(&p, idx[i]), (int)idx[i], 1024);
    }
    for (int i = 0; i < 100; i++)
        CHECK(jet_pool_buf(&p, idx[i])[1023] == (uint8_t)idx[i]);
    jet_pool_get_stats(&p, &st);
    CHECK_EQ(st.free, 0);
    CHECK_EQ(st.alloc_fails, 1);

    jet_pool_give(&p, idx[0], 9);
    CHECK_EQ(jet_pool_owner(&p, idx[0]), 9);
    CHECK(!jet_pool_free_if(&p, idx[0], 7));
    CHECK(jet_pool_free_if(&p, idx[0], 9));
    CHECK_EQ(jet_pool_owner(&p, idx[0]), 0);

    /* owner 7 is "alive" (odd), 8 is dead: reclaim frees exactly the 40 of owner 8 */
    CHECK_EQ(jet_pool_reclaim(&p, alive_odd, NULL), 40);
    jet_pool_get_stats(&p, &st);
    CHECK_EQ(st.free, 41);
    CHECK_EQ(st.reclaimed, 40);
    jet_pool_free(&p, idx + 1, 59);
    jet_pool_get_stats(&p, &st);
    CHECK_EQ(st.free, 100);
    CHECK_EQ(st.allocs, st.frees);

    /* a damaged region is refused */
    ((uint8_t *)region)[0] ^= 1;
    CHECK_EQ(jet_pool_view(&p, region, sz), -EBADMSG);
    free(region);
}

/* Two processes allocate and free at random; each stamps its buffers and
 * checks the stamp before freeing, so a double allocation would show. */
static void test_two_processes(void)
{
    enum { N = 256, ROUNDS = 200000 };
    size_t sz = jet_pool_region_size(N, 64);
    void *region = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(region != MAP_FAILED);
    REQUIRE(jet_pool_format(region, sz, N, 64) == 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        REQUIRE(kids[k] >= 0);
        if (kids[k] == 0) {
            struct jet_pool p;
            if (jet_pool_view(&p, region, sz))
                _exit(3);
            uint32_t token = 100 + (uint32_t)k, held[N], nheld = 0, seed = 12345u + (uint32_t)k;
            for (int r = 0; r < ROUNDS; r++) {
                seed = seed * 1103515245u + 12345u;
                if ((seed >> 16) % 2 && nheld < N) {
                    uint32_t got = jet_pool_alloc(&p, token, held + nheld, 1 + (seed >> 20) % 8 > N - nheld ? N - nheld : 1 + (seed >> 20) % 8);
                    for (uint32_t i = nheld; i < nheld + got; i++) {
                        if (jet_pool_owner(&p, held[i]) != token)
                            _exit(4);
                        memcpy(jet_pool_buf(&p, held[i]), &token, 4);
                    }
                    nheld += got;
                } else if (nheld) {
                    uint32_t idx = held[--nheld];
                    uint32_t stamp;
                    memcpy(&stamp, jet_pool_buf(&p, idx), 4);
                    if (stamp != token || jet_pool_owner(&p, idx) != token)
                        _exit(5);
                    jet_pool_free(&p, &idx, 1);
                }
            }
            jet_pool_free(&p, held, nheld);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    struct jet_pool p;
    REQUIRE(jet_pool_view(&p, region, sz) == 0);
    struct jet_pool_stats s;
    jet_pool_get_stats(&p, &s);
    CHECK_EQ(s.free, N);
    CHECK_EQ(s.allocs, s.frees);
    munmap(region, sz);
}

/* A process killed while holding buffers: reclaim gives them all back. */
static bool alive_not_666(uint32_t owner, void *arg)
{
    (void)arg;
    return owner != 666;
}

static void test_killed_owner(void)
{
    enum { N = 128 };
    size_t sz = jet_pool_region_size(N, 64);
    void *region = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(region != MAP_FAILED);
    REQUIRE(jet_pool_format(region, sz, N, 64) == 0);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0) {
        struct jet_pool p;
        jet_pool_view(&p, region, sz);
        uint32_t idx[N];
        for (;;) { /* allocate and free until killed mid-way */
            uint32_t n = jet_pool_alloc(&p, 666, idx, 50);
            jet_pool_free(&p, idx, n / 2);
        }
    }
    usleep(20000);
    kill(kid, SIGKILL);
    int st;
    waitpid(kid, &st, 0);
    struct jet_pool p;
    REQUIRE(jet_pool_view(&p, region, sz) == 0);
    jet_pool_reclaim(&p, alive_not_666, NULL);
    struct jet_pool_stats s;
    jet_pool_get_stats(&p, &s);
    CHECK_EQ(s.free, N);
    munmap(region, sz);
}

int main(void)
{
    test_basic();
    test_two_processes();
    test_killed_owner();
    return check_done("test_pool");
}
