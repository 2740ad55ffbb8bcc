/* HTTP/1.1 request heads (RFC 9112 §2-3, §5-6), query strings, static paths and entity labels:
 * everything a client sends passes through here first, so every limit is checked here, on the
 * bytes, before anything is allocated. Fuzzed by tests/fuzz/fuzz_http.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/addr.h"
#include "http/http.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into out (size cap, NUL-terminated); plus: '+' means a space (query).
 * Refuses bad escapes and NUL bytes (a C string could not carry the rest). */
static int pct_decode(const char *s, size_t n, char *out, size_t cap, int plus, const char **why)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n) {
				*why = "bad percent escape";
				return -1;
			}
			int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				*why = "bad percent escape";
				return -1;
			}
			c = hi << 4 | lo;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (c == 0) {
			*why = "NUL byte";
			return -1;
		}
		if (o + 1 >= cap) {
			*why = "too long";
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

int http_target_split(const char *target, size_t len, char *path, size_t pathlen, struct http_param *params,
                      size_t *nparams, const char **why)
{
	const char *q = memchr(target, '?', len);
	size_t plen = q ? (size_t)(q - target) : len;
	const char *hash = memchr(target, '#', len);
	if (hash) {
		*why = "fragment in request target";
		return -1;
	}
	if (pct_decode(target, plen, path, pathlen, 0, why))
		return -1;
	*nparams = 0;
	if (!q)
		return 0;
	const char *p = q + 1, *end = target + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		if (e > p) {
			if (*nparams == HTTP_MAX_PARAMS) {
				*why = "too many query parameters";
				return -1;
			}
			const char *eq = memchr(p, '=', (size_t)(e - p));
			const char *ke = eq ? eq : e;
			struct http_param *pr = &params[*nparams];
			if (pct_decode(p, (size_t)(ke - p), pr->key, sizeof pr->key, 1, why))
				return -1;
			if (pct_decode(eq ? eq + 1 : e, eq ? (size_t)(e - eq - 1) : 0, pr->val, sizeof pr->val, 1, why))
				return -1;
			(*nparams)++;
		}
		p = e + 1;
	}
	return 0;
}

const char *http_param_get(const struct http_request *req, const char *key)
{
	for (size_t i = 0; i < req->nparams; i++)
		if (!strcmp(req->params[i].key, key))
			return req->params[i].val;
	return NULL;
}

static int is_tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* One line of buf starting at *pos, without its CRLF (or bare LF); returns its length and moves
 * *pos past it. The caller knows a blank line ends the head, so every line ends. */
static size_t next_line(const char *buf, size_t end, size_t *pos, const char **line)
{
	size_t s = *pos, e = s;
	while (e < end && buf[e] != '\n')
		e++;
	*line = buf + s;
	*pos = e + 1;
	return e > s && buf[e - 1] == '\r' ? e - s - 1 : e - s;
}

/* Is token (case-insensitive) one of the comma-separated elements of a header value? */
static int has_token(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token);
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && !strncasecmp(v + s, token, tl))
			return 1;
	}
	return 0;
}

int http_request_parse(const char *buf, size_t len, struct http_request *req, const char **why)
{
	/* the head ends at the first empty line */
	size_t end = 0;
	int found = 0;
	size_t lim = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	for (size_t i = 0; i < lim; i++) {
		if (buf[i] != '\n')
			continue;
		if (i >= 1 && buf[i - 1] == '\n') {
			end = i + 1, found = 1;
			break;
		}
		if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n') {
			end = i + 1, found = 1;
			break;
		}
	}
	/* RFC 9112 §2.2: a server should ignore empty lines before the request line */
	if (!found) {
		if (len >= HTTP_MAX_HEAD) {
			*why = "request head larger than 8192 bytes";
			return 431;
		}
		return 1;
	}
	memset(req, 0, offsetof(struct http_request, path));
	req->path[0] = 0;
	req->auth[0] = 0;
	req->nparams = 0;
	req->head_len = end;
	size_t pos = 0;
	const char *line;
	size_t n = next_line(buf, end, &pos, &line);
	/* request-line = method SP request-target SP HTTP-version */
	const char *sp1 = memchr(line, ' ', n);
	if (!sp1 || sp1 == line) {
		*why = "malformed request line";
		return 400;
	}
	for (const char *m = line; m < sp1; m++)
		if (!is_tchar((unsigned char)*m)) {
			*why = "malformed method";
			return 400;
		}
	size_t ml = (size_t)(sp1 - line);
	req->method = ml == 3 && !memcmp(line, "GET", 3)    ? HTTP_GET
	              : ml == 4 && !memcmp(line, "HEAD", 4) ? HTTP_HEAD
	              : ml == 4 && !memcmp(line, "POST", 4) ? HTTP_POST
	                                                    : HTTP_OTHER;
	const char *tgt = sp1 + 1;
	const char *sp2 = memchr(tgt, ' ', n - (size_t)(tgt - line));
	if (!sp2) {
		*why = "malformed request line";
		return 400;
	}
	size_t tl = (size_t)(sp2 - tgt);
	if (tl >= HTTP_MAX_TARGET) {
		*why = "request target longer than 2047 bytes";
		return 414;
	}
	const char *ver = sp2 + 1;
	size_t vl = n - (size_t)(ver - line);
	if (vl != 8 || memcmp(ver, "HTTP/1.", 7) || !isdigit((unsigned char)ver[7])) {
		*why = "not HTTP/1.x";
		return vl >= 5 && !memcmp(ver, "HTTP/", 5) ? 505 : 400;
	}
	req->minor = ver[7] - '0';
	req->keep_alive = req->minor >= 1;
	if (tl == 0 || tgt[0] != '/') {
		*why = "request target must start with /";
		return 400;
	}
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)tgt[i] <= ' ' || (unsigned char)tgt[i] == 0x7f) {
			*why = "control byte in request target";
			return 400;
		}
	if (http_target_split(tgt, tl, req->path, sizeof req->path, req->params, &req->nparams, why))
		return 400;

	int nh = 0, have_len = 0;
	unsigned long clen = 0;
	while (pos < end) {
		n = next_line(buf, end, &pos, &line);
		if (n == 0)
			break; /* the blank line */
		if (++nh > HTTP_MAX_HEADERS) {
			*why = "more than 48 header lines";
			return 431;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			*why = "obsolete line folding"; /* RFC 9112 §5.2: reject */
			return 400;
		}
		const char *colon = memchr(line, ':', n);
		if (!colon || colon == line) {
			*why = "malformed header line";
			return 400;
		}
		for (const char *c = line; c < colon; c++)
			if (!is_tchar((unsigned char)*c)) {
				*why = "malformed header name"; /* also whitespace before ':' (§5.1) */
				return 400;
			}
		size_t nl = (size_t)(colon - line);
		const char *v = colon + 1, *ve = line + n;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		size_t vlen = (size_t)(ve - v);
		for (size_t i = 0; i < vlen; i++)
			if (((unsigned char)v[i] < ' ' && v[i] != '\t') || v[i] == 0x7f) {
				*why = "control byte in header value";
				return 400;
			}
		if (nl == 14 && !strncasecmp(line, "Content-Length", 14)) {
			if (vlen == 0 || vlen > 9) {
				*why = vlen ? "body too large" : "bad Content-Length";
				return vlen ? 413 : 400;
			}
			unsigned long v2 = 0;
			for (size_t i = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)v[i])) {
					*why = "bad Content-Length";
					return 400;
				}
				v2 = v2 * 10 + (unsigned long)(v[i] - '0');
			}
			if (have_len && v2 != clen) {
				*why = "conflicting Content-Length"; /* request smuggling */
				return 400;
			}
			have_len = 1;
			clen = v2;
		} else if (nl == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
			*why = "request bodies with a transfer coding are not accepted";
			return 501;
		} else if (nl == 10 && !strncasecmp(line, "Connection", 10)) {
			if (has_token(v, vlen, "close"))
				req->keep_alive = 0;
			else if (has_token(v, vlen, "keep-alive"))
				req->keep_alive = 1;
		} else if (nl == 13 && !strncasecmp(line, "Authorization", 13)) {
			if (vlen >= sizeof req->auth) {
				*why = "Authorization header too long";
				return 431;
			}
			memcpy(req->auth, v, vlen);
			req->auth[vlen] = 0;
		}
	}
	if (clen > HTTP_MAX_BODY) {
		*why = "body too large";
		return 413;
	}
	req->body_len = clen;
	return 0;
}

int http_static_path(const char *path, char *rel, size_t n)
{
	if (path[0] != '/')
		return -1;
	if (!strcmp(path, "/")) {
		snprintf(rel, n, "index.html");
		return 0;
	}
	const char *p = path + 1;
	size_t len = strlen(p);
	if (len == 0 || len >= n)
		return -1;
	const char *s = p;
	for (;;) {
		const char *e = strchr(s, '/');
		size_t sl = e ? (size_t)(e - s) : strlen(s);
		if (sl == 0 || s[0] == '.') /* "", ".", "..", ".hidden" */
			return -1;
		for (size_t i = 0; i < sl; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c < ' ' || c == 0x7f || c == '\\' || c == ':')
				return -1;
		}
		if (!e)
			break;
		s = e + 1;
	}
	memcpy(rel, p, len + 1);
	return 0;
}

int http_entity_parse(const char *s, struct sig_entity *e)
{
	memset(e, 0, sizeof *e);
	e->afi = DM_AFI_IPV4;
	size_t n = strlen(s);
	if (n > 3 && !strcasecmp(s + n - 3, "/v6")) {
		e->afi = DM_AFI_IPV6;
		n -= 3;
	}
	if (n == 0 || n > 12)
		return -1;
	char b[16];
	memcpy(b, s, n);
	b[n] = 0;
	if (!strcasecmp(b, "global")) {
		e->kind = SIG_GLOBAL;
		return 0;
	}
	if (n == 2 && isalpha((unsigned char)b[0]) && isalpha((unsigned char)b[1])) {
		e->kind = SIG_COUNTRY;
		e->cc[0] = (char)toupper((unsigned char)b[0]);
		e->cc[1] = (char)toupper((unsigned char)b[1]);
		return 0;
	}
	const char *d = b;
	if ((b[0] == 'A' || b[0] == 'a') && (b[1] == 'S' || b[1] == 's'))
		d = b + 2;
	if (!*d || strlen(d) > 10)
		return -1;
	unsigned long long v = 0;
	for (const char *c = d; *c; c++) {
		if (!isdigit((unsigned char)*c))
			return -1;
		v = v * 10 + (unsigned)(*c - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	e->kind = SIG_ASN;
	e->asn = (uint32_t)v;
	return 0;
}

void http_entity_label(const struct sig_entity *e, char *buf, size_t n)
{
	const char *v6 = e->afi == DM_AFI_IPV6 ? "/v6" : "";
	if (e->kind == SIG_COUNTRY)
		snprintf(buf, n, "%.2s%s", e->cc, v6);
	else if (e->kind == SIG_ASN)
		snprintf(buf, n, "AS%u%s", e->asn, v6);
	else
		snprintf(buf, n, "global%s", v6);
}
