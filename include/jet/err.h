/* Error reporting.  Every library call returns 0 (or a count) or a negative
 * errno; the readable reason goes into a caller-owned struct jet_err, or into
 * the error string of the object the call was made on. */
#ifndef JET_ERR_H
#define JET_ERR_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stddef.h>

struct jet_err {
    int code;       /* the negative errno last reported, 0 if none */
    char msg[256];  /* readable reason, NUL-terminated, "" if none */
};

/* Records code and a printf-style reason in err (which may be NULL) and
 * returns code, so that callers can write `return jet_err_set(err, -ENOENT, ...)`. */
int jet_err_set(struct jet_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* err->msg if set, otherwise strerror(-code). Never NULL. */
const char *jet_err_str(const struct jet_err *err, int code);

#pragma GCC visibility pop

#endif
