/*
 * engine_image.c - the engine's images (struct dfl_image): the segments of a
 * DFU or DfuSe file, or raw bytes; and the writable capacity of a device
 * (engine.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_private.h"
#include "quirks.h"

static int
add_segment(struct dfl_image *img, uint8_t alt, uint32_t address,
    uint32_t size, uint8_t **data)
{
	struct dfl_segment *n;

	n = realloc(img->segs, (img->nsegs + 1) * sizeof(*n));
	if (n == NULL)
		return DFU_ERR_NOMEM;
	img->segs = n;
	n = &img->segs[img->nsegs];
	if ((n->data = malloc(size > 0 ? size : 1)) == NULL)
		return DFU_ERR_NOMEM;
	n->source[0] = '\0';
	n->alt = alt;
	n->address = address;
	n->size = size;
	img->nsegs++;
	*data = n->data;
	return 0;
}

int
dfl_image_from_file(struct dfl_image *img, struct dfu_file *f)
{
	const struct dfu_suffix *sfx = dfu_file_suffix(f);
	uint8_t *data;
	int err;

	memset(img, 0, sizeof(*img));
	img->idVendor = sfx != NULL ? sfx->idVendor : DFU_ID_ANY;
	img->idProduct = sfx != NULL ? sfx->idProduct : DFU_ID_ANY;
	if (dfu_file_format(f) == DFU_FORMAT_PLAIN) {
		/* A vendor prefix is firmware to the device: the TI Stellaris
		 * and NXP LPC boot ROMs read it (dfu-prefix(1); DFU 1.1
		 * appendix B has the host strip only the suffix). */
		const struct dfu_vendor_prefix *v = dfu_file_vendor_prefix(f);
		uint32_t head = v != NULL ? v->size : 0;
		uint64_t size = head + dfu_file_payload_size(f);

		img->plain = 1;
		if (size > UINT32_MAX)
			return DFU_ERR_RANGE;
		if ((err = add_segment(img, 0, 0, (uint32_t)size, &data)) != 0 ||
		    (head > 0 && (err = dfu_file_vendor_prefix_read(f, data,
		    head)) != 0) ||
		    (err = dfu_file_payload_read(f, 0, data + head,
		    size - head)) != 0)
			return err;
		return 0;
	}
	for (unsigned t = 0; t < dfu_file_target_count(f); t++) {
		const struct dfuse_target *tg = dfu_file_target(f, t);

		for (unsigned e = 0; e < dfu_file_element_count(f, t); e++) {
			const struct dfu_element *el = dfu_file_element(f, t, e);

			if (el->size == 0)
				continue;
			if ((err = add_segment(img, tg->bAlternateSetting,
			    el->address, el->size, &data)) != 0 ||
			    (err = dfu_file_element_read(f, t, e, 0, data,
			    el->size)) != 0)
				return err;
			snprintf(img->segs[img->nsegs - 1].source,
			    sizeof(img->segs[0].source), "target %u element %u",
			    t, e);
		}
	}
	return 0;
}

int
dfl_image_raw(struct dfl_image *img, int plain, uint8_t alt,
    uint32_t address, const void *data, uint32_t size)
{
	uint8_t *p;
	int err;

	memset(img, 0, sizeof(*img));
	img->plain = plain;
	img->idVendor = img->idProduct = DFU_ID_ANY;
	if ((err = add_segment(img, alt, address, size, &p)) != 0)
		return err;
	memcpy(p, data, size);
	return 0;
}

void
dfl_image_free(struct dfl_image *img)
{
	for (size_t i = 0; i < img->nsegs; i++)
		free(img->segs[i].data);
	free(img->segs);
	memset(img, 0, sizeof(*img));
}

uint64_t
dfl_device_capacity(const struct dfl_device *dev)
{
	struct dfu_layout *l;
	uint64_t total = 0;

	if (dev->bcdDFUVersion != DFU_BCD_DFUSE ||
	    dev->bInterfaceProtocol != DFL_PROTOCOL_DFU ||
	    (l = dfu_layout_new()) == NULL)
		return UINT64_MAX;
	for (unsigned i = 0; i < dev->nalts && total != UINT64_MAX; i++) {
		char fixed[512];
		const char *name = dev->alts[i].name;
		int q = dfl_quirk_layout(dev, dev->alts[i].alt, name, fixed,
		    sizeof(fixed), NULL, 0);

		/* A layout the quirk table corrects counts as corrected; one
		 * it cannot correct is refused by the plan, not here. */
		if (q == 1)
			name = fixed;
		if (q < 0 || dfu_layout_parse(l, name) != 0) {
			total = UINT64_MAX;
			break;
		}
		for (unsigned r = 0; r < dfu_layout_region_count(l); r++) {
			const struct dfu_layout_region *rg =
			    dfu_layout_region(l, r);

			if (rg->access & DFU_LAYOUT_WRITABLE)
				total += rg->end - rg->start;
		}
	}
	dfu_layout_free(l);
	return total;
}
