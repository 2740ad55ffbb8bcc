#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

int dm_log_quiet;
int dm_log_burst = DM_LOG_BURST;

enum { KINDS = 64 };
static unsigned long printed[KINDS], suppressed[KINDS];

void dm_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("darkmap: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int dm_log_rl(int kind, const char *fmt, ...)
{
	unsigned k = (unsigned)kind % KINDS;
	if (dm_log_quiet)
		return 0;
	if (dm_log_burst && printed[k] >= (unsigned long)dm_log_burst) {
		suppressed[k]++;
		return 0;
	}
	printed[k]++;
	va_list ap;
	va_start(ap, fmt);
	fputs("darkmap: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

void dm_log_rl_skip(int kind, unsigned long n)
{
	if (!dm_log_quiet)
		suppressed[(unsigned)kind % KINDS] += n;
}

void dm_log_flush_suppressed(void)
{
	for (unsigned k = 0; k < KINDS; k++)
		if (suppressed[k])
			fprintf(stderr, "darkmap: %lu more messages of this kind (%u) suppressed\n",
			        suppressed[k], k);
}
