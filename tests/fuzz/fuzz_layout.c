/*
 * fuzz_layout - libFuzzer target for the DfuSe memory layout parser
 * (UM0424 interface strings, dfulayout.h).
 *
 * The input is parsed as a NUL-terminated copy of exactly its size plus
 * the NUL.  Properties checked:
 *   - a failure has a message and an error offset inside the string;
 *   - a success has regions with page size and count never 0, end =
 *     start + count * page size, at most 4 GiB, not overlapping, type
 *     letters 'a' to 'g' whose access bits match;
 *   - dfu_layout_find() finds the first and last page of every region at
 *     the right page address, and nothing one byte past the end of each;
 *   - a failure leaves no notes; each note of a success has a code, a
 *     message and an offset inside the string.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfulayout.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dfu_layout *l = dfu_layout_new();
	char *s = malloc(size + 1);
	unsigned i, j, n;
	uint32_t page;

	CHECK(l != NULL && s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	if (dfu_layout_parse(l, s) != 0) {
		CHECK(dfu_layout_errmsg(l)[0] != '\0');
		CHECK(dfu_layout_error_offset(l) <= strlen(s));
		CHECK(dfu_layout_note_count(l) == 0);
		goto out;
	}
	for (i = 0; i < dfu_layout_note_count(l); i++) {
		const struct dfu_layout_note *note = dfu_layout_note(l, i);

		CHECK(note != NULL && note->code[0] != '\0' &&
		    note->message[0] != '\0' && note->offset < strlen(s));
	}
	CHECK(dfu_layout_note(l, dfu_layout_note_count(l)) == NULL);
	CHECK(dfu_layout_name(l) != NULL);
	n = dfu_layout_region_count(l);
	CHECK(dfu_layout_region(l, n) == NULL);
	for (i = 0; i < n; i++) {
		const struct dfu_layout_region *r = dfu_layout_region(l, i);

		CHECK(r != NULL && r->page_size > 0 && r->count > 0);
		CHECK(r->end == (uint64_t)r->start +
		    (uint64_t)r->count * r->page_size);
		CHECK(r->end <= UINT64_C(0x100000000));
		CHECK(r->type >= 'a' && r->type <= 'g');
		CHECK(r->access == (unsigned)(r->type - 'a' + 1));
		CHECK(dfu_layout_access_name(r->access) != NULL);
		for (j = 0; j < i; j++) {
			const struct dfu_layout_region *o = dfu_layout_region(l, j);

			CHECK(r->end <= o->start || o->end <= r->start);
		}
		CHECK(dfu_layout_find(l, r->start, &page) == r);
		CHECK(page == r->start);
		CHECK(dfu_layout_find(l, (uint32_t)(r->end - 1), &page) == r);
		CHECK(page == (uint32_t)(r->end - r->page_size));
		if (r->end < UINT64_C(0x100000000)) {
			const struct dfu_layout_region *next =
			    dfu_layout_find(l, (uint32_t)r->end, NULL);

			CHECK(next != r);
		}
	}
out:
	dfu_layout_free(l);
	free(s);
	return 0;
}
