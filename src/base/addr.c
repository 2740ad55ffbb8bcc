#include "base/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t u8_fmt(unsigned v, char *o)
{
	if (v >= 100) {
		o[0] = (char)('0' + v / 100);
		o[1] = (char)('0' + v / 10 % 10);
		o[2] = (char)('0' + v % 10);
		return 3;
	}
	if (v >= 10) {
		o[0] = (char)('0' + v / 10);
		o[1] = (char)('0' + v % 10);
		return 2;
	}
	o[0] = (char)('0' + v);
	return 1;
}

static size_t ip4_fmt(const uint8_t *b, char *o)
{
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		if (i)
			o[n++] = '.';
		n += u8_fmt(b[i], o + n);
	}
	o[n] = 0;
	return n;
}

size_t dm_ip_fmt(const struct dm_ip *ip, char *buf)
{
	if (ip->afi == DM_AFI_IPV6) {
		/* glibc's inet_ntop is what bgpdump uses; its output is the reference. */
		if (!inet_ntop(AF_INET6, ip->b, buf, DM_IP_STRLEN))
			buf[0] = 0;
		return strlen(buf);
	}
	return ip4_fmt(ip->b, buf);
}

size_t dm_prefix_fmt(const struct dm_prefix *p, char *buf)
{
	size_t n;
	if (p->afi == DM_AFI_IPV6) {
		if (!inet_ntop(AF_INET6, p->b, buf, DM_IP_STRLEN))
			buf[0] = 0;
		n = strlen(buf);
	} else {
		n = ip4_fmt(p->b, buf);
	}
	buf[n++] = '/';
	n += u8_fmt(p->len, buf + n);
	buf[n] = 0;
	return n;
}

int dm_ip_parse(const char *s, struct dm_ip *ip)
{
	memset(ip, 0, sizeof *ip);
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, ip->b) != 1)
			return -1;
		ip->afi = DM_AFI_IPV6;
		return 0;
	}
	if (inet_pton(AF_INET, s, ip->b) != 1)
		return -1;
	ip->afi = DM_AFI_IPV4;
	return 0;
}

int dm_prefix_parse(const char *s, struct dm_prefix *p)
{
	char tmp[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	struct dm_ip ip;
	if (dm_ip_parse(tmp, &ip) < 0)
		return -1;
	unsigned max = ip.afi == DM_AFI_IPV6 ? 128 : 32;
	unsigned len = max;
	if (slash) {
		char *e;
		unsigned long l = strtoul(slash + 1, &e, 10);
		if (*e || e == slash + 1 || l > max)
			return -1;
		len = (unsigned)l;
	}
	memset(p, 0, sizeof *p);
	p->afi = ip.afi;
	p->len = (uint8_t)len;
	memcpy(p->b, ip.b, 16);
	return 0;
}

void dm_prefix_mask(struct dm_prefix *p)
{
	unsigned max = p->afi == DM_AFI_IPV6 ? 128 : 32;
	for (unsigned i = 0; i < 16; i++) {
		unsigned bit0 = i * 8;
		if (bit0 >= max || bit0 >= p->len) {
			if (bit0 >= p->len)
				p->b[i] = 0;
			continue;
		}
		if (p->len - bit0 < 8)
			p->b[i] &= (uint8_t)(0xff << (8 - (p->len - bit0)));
	}
}
