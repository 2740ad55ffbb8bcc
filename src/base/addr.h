/* IP addresses and prefixes, both families in one fixed-size value type. */
#ifndef DM_BASE_ADDR_H
#define DM_BASE_ADDR_H

#include <stddef.h>
#include <stdint.h>

enum { DM_AFI_IPV4 = 1, DM_AFI_IPV6 = 2 };   /* IANA address family numbers */
enum { DM_SAFI_UNICAST = 1, DM_SAFI_MULTICAST = 2 };

struct dm_ip {
	uint8_t afi;        /* DM_AFI_IPV4 / DM_AFI_IPV6; 0 = none */
	uint8_t b[16];      /* network order; IPv4 uses b[0..3] */
};

struct dm_prefix {
	uint8_t afi;
	uint8_t len;        /* prefix length in bits */
	uint8_t b[16];      /* network order; bits past len are as received (see dm_prefix_mask) */
};

/* Longest text forms, with NUL. */
enum { DM_IP_STRLEN = 46, DM_PREFIX_STRLEN = 50 };

/* Writes the text form into buf (>= DM_IP_STRLEN) and returns its length.
 * IPv4 dotted quad; IPv6 as inet_ntop prints it. */
size_t dm_ip_fmt(const struct dm_ip *ip, char *buf);
size_t dm_prefix_fmt(const struct dm_prefix *p, char *buf);  /* "a.b.c.d/len" */

/* Parse "1.2.3.4" / "2001:db8::1" (returns 0 or -1) and "10.0.0.0/8". */
int dm_ip_parse(const char *s, struct dm_ip *ip);
int dm_prefix_parse(const char *s, struct dm_prefix *p);

/* Clears host bits past p->len. */
void dm_prefix_mask(struct dm_prefix *p);

static inline uint32_t dm_ip4(const struct dm_ip *ip)
{
	return (uint32_t)ip->b[0] << 24 | (uint32_t)ip->b[1] << 16 | (uint32_t)ip->b[2] << 8 | ip->b[3];
}

#endif
