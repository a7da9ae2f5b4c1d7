/* Error strings: see include/jet/err.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jet/err.h"

int jet_err_set(struct jet_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

const char *jet_err_str(const struct jet_err *err, int code)
{
    if (err && err->msg[0])
        return err->msg;
    return strerror(code < 0 ? -code : code);
}
