/*
 * jsonout.c - jsonout.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"

static void
spaces(FILE *fp, int n)
{
	while (n-- > 0)
		putc(' ', fp);
}

/* n bytes of s, each line after the first indented by indent. */
static void
put_indented(FILE *fp, const char *s, size_t n, int indent)
{
	const char *nl;

	while (n > 0 && (nl = memchr(s, '\n', n)) != NULL) {
		fwrite(s, 1, (size_t)(nl - s) + 1, fp);
		spaces(fp, indent);
		n -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	fwrite(s, 1, n, fp);
}

/*
 * A member `"key": []` cannot occur inside a JSON string, where every
 * '"' is escaped: found in the dump, it is the member itself.
 */
int
jo_dump(FILE *fp, const json_t *obj, int indent, const char *key,
	jo_fill_fn fill, void *ctx)
{
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char pattern[64];
	const char *cur, *at, *line;
	size_t nth = 0, plen = 0;
	int rc = 0;

	if (text == NULL)
		return -1;
	if (key != NULL) {
		snprintf(pattern, sizeof(pattern), "\"%s\": []", key);
		plen = strlen(pattern);
	}
	cur = text;
	while (rc == 0 && key != NULL && (at = strstr(cur, pattern)) != NULL) {
		struct jo_array a = { fp, 0, 0 };

		for (line = at; line > text && line[-1] != '\n'; line--)
			;
		a.indent = indent + (int)(at - line) + 2;
		put_indented(fp, cur, (size_t)(at - cur) + plen - 1, indent);
		rc = fill(ctx, nth++, &a);
		if (a.count > 0) {
			putc('\n', fp);
			spaces(fp, a.indent - 2);
		}
		putc(']', fp);
		cur = at + plen;
	}
	if (rc == 0)
		put_indented(fp, cur, strlen(cur), indent);
	free(text);
	return rc;
}

void
jo_begin(struct jo_array *a)
{
	fputs(a->count++ > 0 ? ",\n" : "\n", a->fp);
	spaces(a->fp, a->indent);
}

int
jo_item(struct jo_array *a, json_t *item)
{
	int rc;

	if (item == NULL)
		return -1;
	jo_begin(a);
	rc = jo_dump(a->fp, item, a->indent, NULL, NULL, NULL);
	json_decref(item);
	return rc;
}
