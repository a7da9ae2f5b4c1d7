/* lan_hello: two stations on an emulated Jetstream LAN, in one process.
 *
 *   build/examples/lan_hello
 *
 * Creates a LAN, attaches two stations, sends one frame on channel 7 from
 * station 0 to station 1, receives it, prints it, and cleans up. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jet/frame.h"
#include "jet/lan.h"

int main(void)
{
    char name[64];
    snprintf(name, sizeof name, "hello-%d", (int)getpid());
    struct jet_lan_config cfg;
    jet_lan_config_default(&cfg);
    struct jet_err err = {0};
    int rc = jet_lan_create(name, &cfg, &err);
    if (rc) {
        fprintf(stderr, "create: %s\n", jet_err_str(&err, rc));
        return 1;
    }
    struct jet_link *a = NULL, *b = NULL;
    if ((rc = jet_lan_attach(name, 0, &a, &err)) || (rc = jet_lan_attach(name, 1, &b, &err))) {
        fprintf(stderr, "attach: %s\n", jet_err_str(&err, rc));
        goto out;
    }

    /* Send: borrow a pool buffer, build the frame in it, commit (consumes it). */
    struct jet_frame f;
    if ((rc = jet_link_tx_alloc(a, &f))) {
        fprintf(stderr, "alloc: %s\n", jet_link_error(a));
        goto out;
    }
    const char msg[] = "hello, Jetstream";
    struct jet_frame_hdr h = {.flags = JET_FF_CRC, .src_station = 0, .dst_station = 1,
                              .dst_chan = 7, .src_chan = 7};
    long n = jet_frame_build(f.data, f.cap, &h, msg, sizeof msg);
    f.len = (uint32_t)n;
    if ((rc = jet_link_tx_commit(a, &f))) {
        fprintf(stderr, "send: %s\n", jet_link_error(a));
        goto out;
    }

    /* Receive: the frame is lent in place (the same pool buffer), then given back. */
    struct jet_frame r[4];
    int got = 0;
    for (int tries = 0; tries < 1000 && got == 0; tries++)
        if ((got = jet_link_rx_burst(b, r, 4)) == 0)
            jet_link_wait(b, 1000000);
    for (int i = 0; i < got; i++) {
        struct jet_frame_hdr rh;
        if (jet_frame_parse(r[i].data, r[i].len, &rh, 0) == 0 && !rh.crc_bad)
            printf("station %u channel %u -> station %u channel %u: \"%.*s\"\n", rh.src_station,
                   rh.src_chan, rh.dst_station, rh.dst_chan, (int)rh.payload_len,
                   (const char *)r[i].data + JET_FRAME_HDR_LEN);
    }
    jet_link_rx_release(b, r, (unsigned)got);
    rc = got == 1 ? 0 : -1;
out:
    jet_link_close(a);
    jet_link_close(b);
    jet_lan_destroy(name, true, NULL);
    return rc ? 1 : 0;
}
