/* UTC times given by users (--from, --to). */
#ifndef DM_BASE_TIME_H
#define DM_BASE_TIME_H

#include <stdint.h>

/* Parses "2014-12-22T16:15[:SS][Z]", "2014-12-22 16:15[:SS]", "2014-12-22" (UTC) or unix seconds
 * (9 digits or more, so that "20141222" is not taken for 1970). Dates that do not exist
 * (2014-02-30) are refused rather than normalised. Returns 0 or -1. */
int dm_time_parse(const char *s, uint32_t *out);

#endif
