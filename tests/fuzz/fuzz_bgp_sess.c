/* libFuzzer target: a BGP session brought to Established by a valid OPEN and KEEPALIVE, then
 * random bytes (the first input byte picks the chunk size, the second 2- or 4-byte ASNs,
 * ADD-PATH and extended messages). Invariants: no crash (ASan/UBSan), the state is always one of
 * RFC 4271's six, and a session that errs ends Idle having sent one NOTIFICATION whose code is
 * defined (1..7) as the last thing it wrote. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "live/bgp_sess.h"

static uint8_t last[BGP_MAX_MSG];
static size_t last_len;
static int notified, got_notification;

static void on_send(void *arg, const uint8_t *b, size_t n)
{
	last_len = n < sizeof last ? n : sizeof last;
	memcpy(last, b, last_len);
}

static void on_notify(void *arg, int sent, uint8_t code, uint8_t sub, const uint8_t *d, size_t n)
{
	if (sent)
		notified++;
	else
		got_notification = 1;
}

static void on_elem(const struct dm_elem *e, void *arg)
{
	volatile uint32_t x = e->peer_asn + e->prefix.len;
	(void)x;
}

static const uint8_t HDR[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t chunk = 1 + data[0] % 64;
	uint8_t mode = data[1];
	data += 2;
	size -= 2;
	struct bgp_sess_conf c;
	memset(&c, 0, sizeof c);
	c.local_as = 65000;
	c.router_id = 1;
	c.hold_time = 90;
	c.passive = 1;
	c.addpath_rx = 1;
	c.ext_msg = (mode & 4) != 0;
	c.peer_ip.afi = DM_AFI_IPV4;
	struct bgp_sess_cb cb = { on_send, on_elem, NULL, NULL, on_notify, NULL, NULL, NULL };
	struct bgp_sess *s = bgp_sess_new(&c, &cb);
	if (!s)
		return 0;
	notified = got_notification = 0;
	int64_t now = 1700000000LL * 1000000;
	bgp_sess_start(s, now);
	bgp_sess_connected(s, now);
	/* OPEN: AS 65001, hold 90, id 2, MP IPv4/IPv6, [AS4 65001], [ADD-PATH send], [ext msg] */
	uint8_t open[80];
	size_t n = 0;
	memcpy(open, HDR, 16);
	n = 19;
	static const uint8_t fixed[] = { 4, 0xfd, 0xe9, 0, 90, 0, 0, 0, 2 };
	memcpy(open + n, fixed, sizeof fixed);
	n += sizeof fixed;
	size_t optlen_at = n++;
	open[n++] = 2;
	size_t caplen_at = n++;
	static const uint8_t mp[] = { 1, 4, 0, 1, 0, 1, 1, 4, 0, 2, 0, 1 };
	memcpy(open + n, mp, sizeof mp);
	n += sizeof mp;
	if (mode & 1) {
		static const uint8_t as4[] = { 65, 4, 0, 0, 0xfd, 0xe9 };
		memcpy(open + n, as4, sizeof as4);
		n += sizeof as4;
	}
	if (mode & 2) {
		static const uint8_t ap[] = { 69, 8, 0, 1, 1, 3, 0, 2, 1, 3 };
		memcpy(open + n, ap, sizeof ap);
		n += sizeof ap;
	}
	if (mode & 4) {
		open[n++] = 6;
		open[n++] = 0;
	}
	open[caplen_at] = (uint8_t)(n - caplen_at - 1);
	open[optlen_at] = (uint8_t)(n - optlen_at - 1);
	open[16] = 0;
	open[17] = (uint8_t)n;
	open[18] = BGP_MSG_OPEN;
	bgp_sess_input(s, open, n, now, 0);
	uint8_t ka[19];
	memcpy(ka, HDR, 16);
	ka[16] = 0;
	ka[17] = 19;
	ka[18] = BGP_MSG_KEEPALIVE;
	bgp_sess_input(s, ka, sizeof ka, now, 0);
	if (bgp_sess_state(s) != BGP_ST_ESTABLISHED)
		__builtin_trap();
	/* the stream, in chunks, with the leftover carried like a socket reader would */
	static uint8_t buf[1 << 18];
	size_t have = 0, off = 0;
	while (off < size && bgp_sess_state(s) != BGP_ST_IDLE) {
		size_t take = size - off < chunk ? size - off : chunk;
		if (have + take > sizeof buf)
			break;
		memcpy(buf + have, data + off, take);
		have += take;
		off += take;
		now += 1000000;
		size_t used = bgp_sess_input(s, buf, have, now, (unsigned)(mode >> 4));
		if (used > have)
			__builtin_trap();
		memmove(buf, buf + used, have - used);
		have -= used;
		bgp_sess_timer(s, now);
		int st = bgp_sess_state(s);
		if (st < BGP_ST_IDLE || st > BGP_ST_ESTABLISHED)
			__builtin_trap();
	}
	if (bgp_sess_state(s) == BGP_ST_IDLE && !got_notification) {
		/* ended by an error: exactly one NOTIFICATION, the last message written, valid code */
		if (notified != 1 || last_len < 21 || last[18] != BGP_MSG_NOTIFICATION || last[19] < 1 || last[19] > 7)
			__builtin_trap();
		uint8_t code, sub;
		bgp_sess_last_error(s, &code, &sub);
		if (code != last[19] || sub != last[20])
			__builtin_trap();
	}
	if (bgp_sess_state(s) != BGP_ST_IDLE && notified)
		__builtin_trap();
	bgp_sess_free(s);
	return 0;
}
