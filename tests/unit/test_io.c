/* src/io (with the MRT framing above it) on files that change underneath the reader: a copy of
 * a real archive truncated after it was opened must end in an error with its offset, never in
 * a signal (it was a SIGBUS, exit 135, when uncompressed files were mapped). The expected
 * counts come from a header walk of the data done here, independently of the reader. */
#include "testutil.h"

#include <unistd.h>
#include <zlib.h>

#include "io/reader.h"
#include "mrt/reader.h"

/* The real file's decompressed bytes, read with zlib's own gz functions (not darkmap's). */
static uint8_t *gunzip_file(const char *path, size_t *len)
{
	gzFile g = gzopen(path, "rb");
	assert_non_null(g);
	size_t cap = 1 << 24, n = 0;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	int k;
	while ((k = gzread(g, buf + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)k;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	gzclose(g);
	*len = n;
	return buf;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Records that end at or before cut (12-byte headers, RFC 6396 §2); *last: where the first
 * record not complete starts. */
static uint64_t walk(const uint8_t *p, size_t cut, size_t *last)
{
	size_t off = 0;
	uint64_t n = 0;
	while (off + 12 <= cut) {
		size_t len = (size_t)p[off + 8] << 24 | (size_t)p[off + 9] << 16 | (size_t)p[off + 10] << 8 | p[off + 11];
		if (off + 12 + len > cut)
			break;
		off += 12 + len;
		n++;
	}
	*last = off;
	return n;
}

struct run {
	uint64_t records, errors;
	struct dm_error first_err;
	int first_code;
};

/* Opens path, reads one record, truncates the file to cut bytes, reads the rest. */
static void read_truncated(const char *path, off_t cut, struct run *out)
{
	memset(out, 0, sizeof *out);
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct mrt_reader *r = mrt_reader_open(path, &err);
	assert_non_null(r);
	struct mrt_hdr h;
	const uint8_t *body;
	assert_int_equal(mrt_reader_next(r, &h, &body, &err), 1);
	out->records = 1;
	assert_int_equal(truncate(path, cut), 0);
	unlink(path);   /* the reader holds it open; nothing is left behind if an assert fails */
	int rc;
	while ((rc = mrt_reader_next(r, &h, &body, &err)) != 0) {
		if (rc > 0) {
			out->records++;
			continue;
		}
		if (!out->errors++) {
			out->first_err = err;
			out->first_code = rc;
		}
		assert_true(out->errors < 10);
	}
	mrt_reader_close(r);
}

static void test_plain_truncated_while_read(void **s)
{
	(void)s;
	char path[512], tmp[] = "/tmp/darkmap-test-io-XXXXXX";
	if (test_data_path(path, sizeof path, "mrt/updates.et-header.2015.gz") < 0)
		skip();
	size_t len;
	uint8_t *data = gunzip_file(path, &len);
	assert_int_equal(len, 13511326);
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	write_file(tmp, data, len);
	/* 5 MB: far past what the reader holds after one record (its 1 MiB buffer) */
	size_t cut = 5000000, last;
	uint64_t want = walk(data, cut, &last);
	assert_int_equal(want, 29062);
	assert_int_equal(last, 4999908);
	struct run run;
	read_truncated(tmp, (off_t)cut, &run);
	free(data);
	assert_int_equal(run.records, want);
	assert_int_equal(run.errors, 1);
	assert_int_equal(run.first_code, DM_ERR_TRUNCATED);
	assert_int_equal(run.first_err.offset, last);
	assert_string_equal(run.first_err.what,
	                    "BGP4MP_ET record truncated: length 122, only 80 bytes before the input ends (file "
	                    "truncated while being read: ends at byte 5000000, was 13511326 bytes when opened, "
	                    "5000000 now)");
}

static void test_gzip_truncated_while_read(void **s)
{
	(void)s;
	char path[512], tmp[] = "/tmp/darkmap-test-io-XXXXXX";
	if (test_data_path(path, sizeof path, "mrt/updates.et-header.2015.gz") < 0)
		skip();
	/* the compressed copy is cut at 2,000,000 of its 3,116,363 bytes, after the reader (and
	 * its decompression thread, whose ring holds 2 MiB of output) has started */
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *gz = malloc(4 << 20);
	assert_non_null(gz);
	size_t n = fread(gz, 1, 4 << 20, f);
	fclose(f);
	assert_int_equal(n, 3116363);
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	write_file(tmp, gz, n);
	free(gz);
	struct run run;
	read_truncated(tmp, 2000000, &run);
	assert_true(run.records > 1);
	assert_int_equal(run.errors, 1);
	assert_int_equal(run.first_code, DM_ERR_TRUNCATED);
	assert_non_null(strstr(run.first_err.what, "(file truncated while being read: ends at byte 2000000, was "
	                                           "3116363 bytes when opened, 2000000 now)"));
}

/* Standard input and other non-regular files have no size to compare: no false alarm. */
static void test_no_false_alarm(void **s)
{
	(void)s;
	char path[512];
	if (test_data_path(path, sizeof path, "mrt/updates.20020722.2238.gz") < 0)
		skip();
	size_t len;
	uint8_t *data = gunzip_file(path, &len);
	char tmp[] = "/tmp/darkmap-test-io-XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	write_file(tmp, data, len);
	free(data);
	struct dm_error err;
	struct dm_reader *r = dm_reader_open(tmp, &err);
	assert_non_null(r);
	uint8_t buf[4096];
	size_t total = 0;
	ssize_t k;
	while ((k = dm_reader_read(r, buf, sizeof buf, &err)) > 0)
		total += (size_t)k;
	assert_int_equal(k, 0);
	assert_int_equal(total, len);
	assert_null(dm_reader_note(r));
	dm_reader_close(r);
	unlink(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_truncated_while_read),
		cmocka_unit_test(test_gzip_truncated_while_read),
		cmocka_unit_test(test_no_false_alarm),
	};
	return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
