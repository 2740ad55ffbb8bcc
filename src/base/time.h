/* UTC times given by users (--from, --to). */
#ifndef DM_BASE_TIME_H
#define DM_BASE_TIME_H

#include <stdint.h>

/* Parses "2014-12-22T16:15[:SS][Z]", "2014-12-22 16:15[:SS]", "2014-12-22" (UTC) or unix seconds
 * (9 digits or more, so that "20141222" is not taken for 1970). Dates that do not exist
 * (2014-02-30) are refused rather than normalised. Returns 0 or -1. */
int dm_time_parse(const char *s, uint32_t *out);

/* Formats UTC seconds (64-bit: bins and events past 2106 stay right) with strftime's fmt into buf (32 bytes); returns buf. The formats in use:
 * DM_TIME_MIN "2014-12-22 16:15", DM_TIME_UTC "2014-12-22 16:15 UTC", DM_TIME_ISO
 * "2014-12-22T16:15:00Z". */
#define DM_TIME_MIN "%Y-%m-%d %H:%M"
#define DM_TIME_UTC "%Y-%m-%d %H:%M UTC"
#define DM_TIME_ISO "%Y-%m-%dT%H:%M:%SZ"
const char *dm_time_fmt(int64_t t, const char *fmt, char buf[32]);

#endif
