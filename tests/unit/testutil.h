/* Shared by the cmocka unit tests. */
#ifndef DM_TESTUTIL_H
#define DM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

/* Real data lives beside the repo; tests that need it skip when it is absent. */
static inline const char *test_data_dir(void)
{
	const char *d = getenv("DARKMAP_DATA");
	return d ? d : "../shared/data";
}

static inline int test_data_path(char *buf, size_t n, const char *rel)
{
	struct stat st;
	snprintf(buf, n, "%s/%s", test_data_dir(), rel);
	if (stat(buf, &st) != 0) {
		fprintf(stderr, "skip: %s absent\n", buf);
		return -1;
	}
	return 0;
}

/* Hex string ("0a 00 01") to bytes; returns the length. */
static inline size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\n')
			s++;
		if (!*s)
			break;
		unsigned v;
		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

#endif
