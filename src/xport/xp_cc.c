/* Transport engine: the table of congestion control algorithms (xp_cc.h).  Adding one:
 * a new xp_cc_<name>.c with its struct xp_cc_ops, declared in xp_cc.h, listed here. */
#include <string.h>

#include "xport/xp_cc.h"

const struct xp_cc_ops *const xp_cc_table[] = {
    &xp_cc_newreno,
    &xp_cc_cubic,
    NULL,
};

const struct xp_cc_ops *xp_cc_find(const char *name)
{
    if (!name || !*name)
        return xp_cc_table[0];
    for (int i = 0; xp_cc_table[i]; i++)
        if (!strcmp(xp_cc_table[i]->name, name))
            return xp_cc_table[i];
    return NULL;
}
