/* What the ThreadSanitizer tests share: one "ok tsan NAME" or "not ok tsan NAME: why" line per
 * check, failures counted for the exit status. */
#ifndef DM_TESTS_TSAN_UTIL_H
#define DM_TESTS_TSAN_UTIL_H

#include <stdio.h>

static int failures;

static void result(const char *name, int ok, const char *why)
{
	if (ok)
		printf("ok tsan %s\n", name);
	else {
		printf("not ok tsan %s: %s\n", name, why);
		failures++;
	}
}

#endif
