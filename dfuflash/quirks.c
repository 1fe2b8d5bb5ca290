/*
 * quirks.c - the quirk table of real DFU devices (quirks.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dfulayout.h"
#include "quirks.h"
#include "utf8.h"

#define GIGADEVICE_VID 0x28e9
#define GD32VF103_PID 0x0189
#define ST_VID 0x0483
#define ST_DFU_PID 0xdf11
#define FLASH_BASE 0x08000000u

/*
 * GD32VF103 ROM bootloader.  Its iSerialNumber is UTF-8 bytes, not the
 * UTF-16LE of USB 2.0 9.6.7 (fwupd/fwupd#2815; dfu-util's
 * QUIRK_UTF8_SERIAL; pine64/pine64_updater#5): a Longan Nano's reads
 * "3CBJ" so (aw/fiveforths#20, a dfu-util 0.11 listing), and decoded as
 * UTF-16LE is two CJK characters.  Alt 0 reports
 * "/0x08000000/512*002Kg", 1 MiB in 2 KiB pages, where the part has
 * 128 KiB in 1 KiB pages (riscv-mcu/gd32-dfu-utils#5): an erase at each
 * 2 KiB step erases one 1 KiB page and leaves the next one as it was.
 * The flash size is the third character of the serial number, as in the
 * part number (GD32VF103 datasheet, tables 2-1 and 2-2 "devices features
 * and peripheral list"; dfu-util src/quirks.c, fixup_dfuse_layout()).
 * fwupd also knows '2' (8 KiB) and 'D' (256 KiB), which no GD32VF103
 * has: not taken here, so that an unknown letter is refused rather than
 * guessed.
 */
static const struct {
	char letter;
	unsigned pages; /* of 1 KiB */
} gd32vf103_sizes[] = {
	{ 'B', 128 },
	{ '8', 64 },
	{ '6', 32 },
	{ '4', 16 },
};
#define GD32VF103_PAGE 1024u
#define GD32VF103_WRONG_PAGE 2048u

int
dfl_quirk_serial_utf8(uint16_t vid, uint16_t pid)
{
	return vid == GIGADEVICE_VID && pid == GD32VF103_PID;
}

int
dfl_string_decode_utf8(const uint8_t *desc, size_t len, char *out,
    size_t outlen)
{
	size_t end, n = 0;

	out[0] = '\0';
	if (len < 2 || desc[0] < 2 || desc[1] != 0x03)
		return -1;
	end = desc[0] < len ? desc[0] : len;
	for (size_t i = 2; i < end;) {
		size_t k = utf8_seq((const char *)desc + i, end - i);
		const uint8_t *c = desc + i;
		uint8_t q = '?';

		if (k == 0 ||
		    (k == 1 && (c[0] < 0x20 || c[0] == 0x7f)) ||
		    (k == 2 && c[0] == 0xc2 && c[1] <= 0x9f)) {
			/* Not printable text: one '?' for the byte. */
			c = &q;
			k = 1;
			i++;
		} else
			i += k;
		if (n + k + 1 > outlen)
			break;
		memcpy(out + n, c, k);
		n += k;
	}
	out[n] = '\0';
	return (int)n;
}

static void
note_set(char *note, size_t notelen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note_set(char *note, size_t notelen, const char *fmt, ...)
{
	va_list ap;

	if (note == NULL || notelen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(note, notelen, fmt, ap);
	va_end(ap);
}

/* The first region of layout string name, parsed into l; NULL if none. */
static const struct dfu_layout_region *
first_region(struct dfu_layout *l, const char *name)
{
	if (l == NULL || name == NULL || name[0] != '@' ||
	    dfu_layout_parse(l, name) != 0 || dfu_layout_region_count(l) == 0)
		return NULL;
	return dfu_layout_region(l, 0);
}

int
dfl_quirk_layout(const struct dfl_device *dev, uint8_t alt, const char *name,
    char *out, size_t outlen, char *note, size_t notelen)
{
	struct dfu_layout *l;
	const struct dfu_layout_region *r;
	const char *serial = dev->serial, *slash;
	unsigned pages = 0;
	int wrong;

	note_set(note, notelen, "%s", "");
	if (dev->idVendor != GIGADEVICE_VID || dev->idProduct != GD32VF103_PID
	    || alt != 0 || name == NULL)
		return 0;
	/* The wrong string: 2 KiB pages at the flash base.  A ROM that
	 * reports 1 KiB pages (the bare chip of gd32-dfu-utils#5) is right. */
	l = dfu_layout_new();
	r = first_region(l, name);
	wrong = r != NULL && r->start == FLASH_BASE &&
	    r->page_size == GD32VF103_WRONG_PAGE &&
	    dfu_layout_region_count(l) == 1;
	dfu_layout_free(l);
	if (!wrong)
		return 0;
	for (size_t i = 0; serial != NULL && strlen(serial) >= 3 &&
	    i < sizeof(gd32vf103_sizes) / sizeof(gd32vf103_sizes[0]); i++)
		if (serial[2] == gd32vf103_sizes[i].letter)
			pages = gd32vf103_sizes[i].pages;
	if (pages == 0) {
		note_set(note, notelen, "GD32VF103 ROM (28e9:0189): alt 0 "
		    "reports \"%s\", but its flash is made of 1 KiB pages, as "
		    "many as the third character of the serial number says "
		    "(B, 8, 6 or 4), and serial %s%s%s does not say: the real "
		    "layout is unknown, so nothing is written to it", name,
		    serial != NULL ? "\"" : "", serial != NULL ? serial :
		    "(none)", serial != NULL ? "\"" : "");
		return -1;
	}
	slash = strchr(name, '/');
	snprintf(out, outlen, "%.*s/0x%08X/%03u*001Kg", (int)(slash - name),
	    name, FLASH_BASE, pages);
	note_set(note, notelen, "GD32VF103 ROM (28e9:0189) reports alt 0 as "
	    "\"%s\"; its flash is %u pages of 1 KiB (serial \"%s\", size "
	    "letter '%c'): read as \"%s\"", name, pages, serial, serial[2],
	    out);
	return 1;
}

uint32_t
dfl_quirk_write_unit(const struct dfl_device *dev, char *note,
    size_t notelen)
{
	struct dfu_layout *l;
	const struct dfu_layout_region *r;
	const char *name = NULL;
	uint32_t unit = DFL_QUIRK_DEFAULT_UNIT;

	note_set(note, notelen, "%s", "");
	if (dev->idVendor != ST_VID || dev->idProduct != ST_DFU_PID ||
	    dev->nalts == 0)
		return unit;
	for (unsigned i = 0; i < dev->nalts && name == NULL; i++)
		if (dev->alts[i].alt == 0)
			name = dev->alts[i].name;
	/*
	 * STM32H7 ROM: main flash starting with a 128 KiB sector (the
	 * F2/F4/F7 ROMs start with 16 or 32 KiB sectors, the L4/G4/F0/F1/F3
	 * ones with 2 KiB pages).  H74x/H75x and H72x/H73x program 256-bit
	 * flash words and refuse a partial one (RM0433 4.3.9, RM0468 4.3.9:
	 * a write of less than a flash word waits for the rest or is forced
	 * with FW, which mboot does not do: micropython/micropython#14405,
	 * where a final partial word was dropped).  The H7 ROM reports
	 * "@Internal Flash   /0x08000000/16*128Kg" (NuttX weact-stm32h750
	 * board documentation, a dfu-util 0.11 listing; the H750 runs the
	 * ROM of the H743, AN2606 "STM32H74xxx/75xxx devices").
	 */
	l = dfu_layout_new();
	r = first_region(l, name);
	if (r != NULL && r->start == FLASH_BASE && r->page_size == 131072) {
		unit = 32;
		note_set(note, notelen, "STM32H7 ROM (0483:df11, 128 KiB "
		    "sectors from 0x%08x): writes are whole 32-byte flash "
		    "words", FLASH_BASE);
	}
	dfu_layout_free(l);
	return unit;
}
