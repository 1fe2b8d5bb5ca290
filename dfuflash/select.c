/*
 * select.c - device and alternate setting selection (select.h).
 */
#include <stdio.h>
#include <string.h>

#include "select.h"
#include "msg.h"

/* Hexadecimal digits of [s, end), 1 to 4 of them after an optional 0x. */
static int
hex16(const char *s, const char *end, uint16_t *out)
{
	unsigned v = 0;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (s == end || end - s > 4)
		return -1;
	for (; s < end; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*out = (uint16_t)v;
	return 0;
}

/* "VID:PID" in [s, end). */
static int
ids(const char *s, const char *end, uint16_t *vid, uint16_t *pid)
{
	const char *colon = memchr(s, ':', (size_t)(end - s));

	if (colon == NULL)
		return -1;
	return hex16(s, colon, vid) == 0 && hex16(colon + 1, end, pid) == 0 ?
	    0 : -1;
}

int
dfl_match_parse_ids(struct dfl_match *m, const char *arg)
{
	const char *comma = strchr(arg, ',');
	const char *end = arg + strlen(arg);

	if (comma == NULL) {
		if (ids(arg, end, &m->vid, &m->pid) != 0)
			return -1;
		m->ids_set = 1;
		m->dfu_ids_set = 0;
		return 0;
	}
	if (ids(arg, comma, &m->vid, &m->pid) != 0 ||
	    ids(comma + 1, end, &m->dfu_vid, &m->dfu_pid) != 0)
		return -1;
	m->ids_set = m->dfu_ids_set = 1;
	return 0;
}

/* A decimal number 1..255 at *s, no leading zero; advances *s. */
static int
small_number(const char **s)
{
	unsigned v = 0;
	const char *p = *s;

	if (*p < '1' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 255)
			return -1;
		p++;
	}
	*s = p;
	return 0;
}

int
dfl_path_valid(const char *path)
{
	const char *p = path;
	int nports = 0;

	if (small_number(&p) != 0 || *p++ != '-')
		return -1;
	for (;;) {
		if (small_number(&p) != 0 || ++nports > 7)
			return -1;
		if (*p == '\0')
			return 0;
		if (*p++ != '.')
			return -1;
	}
}

int
dfl_path_format(char *buf, size_t len, uint8_t bus, const uint8_t *ports,
    int nports)
{
	size_t n;
	int k;

	k = snprintf(buf, len, "%u-%u", (unsigned)bus,
	    nports > 0 ? (unsigned)ports[0] : 0u);
	if (k < 0 || (size_t)k >= len)
		return -1;
	n = (size_t)k;
	for (int i = 1; i < nports; i++) {
		k = snprintf(buf + n, len - n, ".%u", ports[i]);
		if (k < 0 || (size_t)k >= len - n)
			return -1;
		n += (size_t)k;
	}
	return (int)n;
}

int
dfl_match(const struct dfl_match *m, const struct dfl_candidate *c)
{
	size_t i;

	for (i = 0; i < m->npaths; i++)
		if (strcmp(m->paths[i], c->path) == 0)
			break;
	if (m->npaths > 0 && i == m->npaths)
		return 0;
	for (i = 0; i < m->nserials; i++)
		if ((c->serial != NULL && strcmp(m->serials[i], c->serial) ==
		    0) || (c->serial_utf16 != NULL && strcmp(m->serials[i],
		    c->serial_utf16) == 0))
			break;
	if (m->nserials > 0 && i == m->nserials)
		return 0;
	if (m->dfu_ids_set && !c->runtime)
		return c->vid == m->dfu_vid && c->pid == m->dfu_pid;
	if (m->ids_set)
		return c->vid == m->vid && c->pid == m->pid;
	return 1;
}

/* "alt 0 \"name\", alt 1 ..." of the alts whose index is flagged. */
static void
list_alts(char *buf, size_t len, const struct dfl_alt *alts, unsigned nalts,
    const char *only)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < nalts && n < len; i++) {
		int k;

		if (only != NULL && !only[i])
			continue;
		k = snprintf(buf + n, len - n, "%salt %u \"%s\"", n > 0 ?
		    ", " : "", alts[i].alt, alts[i].name != NULL ?
		    alts[i].name : "");
		if (k < 0)
			break;
		n += (size_t)k;
	}
}

int
dfl_alt_resolve(const struct dfl_alt *alts, unsigned nalts, const char *arg,
    uint8_t *alt, char *msg, size_t msglen)
{
	char list[768], hit[256];
	unsigned found = 0, which = 0;
	const char *p = arg;
	unsigned long v = 0;
	int number = 0;

	/* A number: decimal digits, or 0x and hexadecimal digits. */
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && p[2] != '\0') {
		uint16_t h;

		if (strlen(p + 2) <= 4 && hex16(p, p + strlen(p), &h) == 0) {
			v = h;
			number = 1;
		}
	} else if (*p != '\0' && strspn(p, "0123456789") == strlen(p) &&
	    strlen(p) <= 3) {
		for (; *p != '\0'; p++)
			v = v * 10 + (unsigned long)(*p - '0');
		number = 1;
	}
	list_alts(list, sizeof(list), alts, nalts, NULL);
	if (number) {
		for (unsigned i = 0; i < nalts; i++)
			if (alts[i].alt == v) {
				*alt = alts[i].alt;
				return 0;
			}
		return dfl_msg(msg, msglen, "-a %s: the device has no alternate "
		    "setting %lu; it has %s", arg, v, list);
	}
	for (unsigned i = 0; i < nalts; i++)
		if (alts[i].name != NULL && strcmp(alts[i].name, arg) == 0) {
			*alt = alts[i].alt;
			return 0;
		}
	memset(hit, 0, sizeof(hit));
	for (unsigned i = 0; i < nalts && i < sizeof(hit); i++)
		if (arg[0] != '\0' && alts[i].name != NULL &&
		    strstr(alts[i].name, arg) != NULL) {
			hit[i] = 1;
			found++;
			which = i;
		}
	if (found == 1) {
		*alt = alts[which].alt;
		return 0;
	}
	if (found == 0)
		return dfl_msg(msg, msglen, "-a %s: no alternate setting has that "
		    "number or name; the device has %s", arg, list);
	list_alts(list, sizeof(list), alts, nalts, hit);
	dfl_msg(msg, msglen, "-a %s: %u alternate settings match, give more of "
	    "the name or the number: %s", arg, found, list);
	return -2;
}
