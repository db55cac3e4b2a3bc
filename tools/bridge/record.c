/*
 * record.c - the bridge's event record on the wire (see record.h).
 */
#include <string.h>

#include "record.h"

bool bridge_token_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BRIDGE_ROOT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* A root-relative directory: not absolute, no "." or ".." component, no
 * empty component, no trailing '/'. */
static bool relpath_valid(const char *p, size_t n)
{
	size_t start = 0;

	if (n == 0)
		return true;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		size_t len = i - start;
		if (len == 0 || (len == 1 && p[start] == '.') ||
		    (len == 2 && p[start] == '.' && p[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

int bridge_record_encode(const struct bridge_event *ev, unsigned char *buf,
			 size_t size)
{
	size_t rl = strlen(ev->root), hl = strlen(ev->host);
	size_t pl = strlen(ev->path), nl = strlen(ev->name);
	size_t total = BRIDGE_RECORD_HEADER + rl + hl + pl + nl;

	if (rl > BRIDGE_ROOT_MAX || hl > BRIDGE_HOST_MAX ||
	    pl > BRIDGE_PATH_MAX || nl > BRIDGE_NAME_MAX || total > size)
		return -1;
	buf[0] = BRIDGE_RECORD_VERSION;
	buf[1] = ev->isdir ? 1 : 0;
	put16(buf + 2, (uint16_t)rl);
	put32(buf + 4, ev->mask);
	put32(buf + 8, ev->cookie);
	put16(buf + 12, (uint16_t)pl);
	put16(buf + 14, (uint16_t)nl);
	put64(buf + 16, ev->seq);
	put64(buf + 24, ev->incarnation);
	buf[32] = (unsigned char)hl;
	unsigned char *p = buf + BRIDGE_RECORD_HEADER;
	memcpy(p, ev->root, rl);
	memcpy(p += rl, ev->host, hl);
	memcpy(p += hl, ev->path, pl);
	memcpy(p += pl, ev->name, nl);
	return (int)total;
}

/* Copy a length-counted string that must hold no NUL. */
static int take(char *dst, const unsigned char *src, size_t n)
{
	if (memchr(src, 0, n))
		return -1;
	memcpy(dst, src, n);
	dst[n] = 0;
	return 0;
}

int bridge_record_decode(const unsigned char *buf, size_t len,
			 struct bridge_event *ev)
{
	int n = bridge_record_decode_next(buf, len, ev);
	return n > 0 && (size_t)n == len ? 0 : -1;
}

int bridge_record_decode_next(const unsigned char *buf, size_t len,
			      struct bridge_event *ev)
{
	if (len < BRIDGE_RECORD_HEADER || buf[0] != BRIDGE_RECORD_VERSION ||
	    (buf[1] & ~1u))
		return -1;
	size_t rl = get16(buf + 2), pl = get16(buf + 12);
	size_t nl = get16(buf + 14), hl = buf[32];
	size_t total = BRIDGE_RECORD_HEADER + rl + hl + pl + nl;
	if (rl > BRIDGE_ROOT_MAX || hl > BRIDGE_HOST_MAX ||
	    pl > BRIDGE_PATH_MAX || nl > BRIDGE_NAME_MAX || len < total)
		return -1;
	const unsigned char *p = buf + BRIDGE_RECORD_HEADER;
	if (take(ev->root, p, rl) || take(ev->host, p + rl, hl) ||
	    take(ev->path, p + rl + hl, pl) ||
	    take(ev->name, p + rl + hl + pl, nl))
		return -1;
	if (!bridge_token_valid(ev->root) || !bridge_token_valid(ev->host) ||
	    strchr(ev->name, '/') || !relpath_valid(ev->path, pl) ||
	    !strcmp(ev->name, ".") || !strcmp(ev->name, ".."))
		return -1;
	ev->isdir = buf[1] & 1;
	ev->mask = get32(buf + 4);
	ev->cookie = get32(buf + 8);
	ev->seq = get64(buf + 16);
	ev->incarnation = get64(buf + 24);
	return (int)total;
}
