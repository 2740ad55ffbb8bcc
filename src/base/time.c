#include "base/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int dm_time_parse(const char *s, uint32_t *out)
{
	size_t len = strlen(s);
	if (len && strspn(s, "0123456789") == len) {
		unsigned long long v = 0;
		if (len < 9 || len > 10 || sscanf(s, "%llu", &v) != 1 || v > UINT32_MAX)
			return -1;
		*out = (uint32_t)v;
		return 0;
	}
	int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return -1;
	const char *p = s + n;
	if (*p == 'T' || *p == ' ') {
		p++;
		n = 0;
		if (sscanf(p, "%2d:%2d%n", &h, &mi, &n) != 2)
			return -1;
		p += n;
		if (*p == ':') {
			n = 0;
			if (sscanf(p + 1, "%2d%n", &se, &n) != 1)
				return -1;
			p += 1 + n;
		}
		if (*p == 'Z')
			p++;
	}
	if (*p)
		return -1;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm);
	/* timegm normalises 2014-02-30 to March 2: refuse what does not round-trip. */
	if (t < 0 || t > (time_t)UINT32_MAX || tm.tm_year + 1900 != y || tm.tm_mon + 1 != mo || tm.tm_mday != d ||
	    tm.tm_hour != h || tm.tm_min != mi || tm.tm_sec != se)
		return -1;
	*out = (uint32_t)t;
	return 0;
}

const char *dm_time_fmt(int64_t t, const char *fmt, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, 32, fmt, &tm))
		buf[0] = 0;
	return buf;
}
