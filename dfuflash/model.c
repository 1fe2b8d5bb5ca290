/*
 * model.c - the DFU device model (model.h).
 *
 * Written from the specifications (USB DFU 1.1 appendix A, ST AN3156 and
 * UM0424) and the notes on the real STM32 ROM bootloader in
 * ../shared/notes/usb-emulation.md.  The memory geometry of each profile
 * is written out here as page tables, independently of libdfufile's
 * layout parser, so that the engine's reading of the layout strings is
 * checked against a second source.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfufile.h"
#include "dfuproto.h"
#include "model.h"

/*
 * Time model of full-speed USB: each control transfer costs one 1 ms
 * frame for its setup and status stages (USB 2.0 5.12.2: the host
 * schedules transfers in 1 ms frames, and a synchronous host starts the
 * next request only after the last one completed), plus its data at the
 * full-speed control maximum of 832,000 bytes/s with 64-byte packets
 * (USB 2.0 table 5-5).  These are parameters of the model, chosen from
 * the specification; part 2 (real USB) can measure them.
 */
#define USB_TRANSFER_US 1000u
#define USB_CONTROL_BYTES_PER_S 832000u
/* Set address pointer: a register write, no flash time. */
#define CMD_US 0u

enum mem_kind {
	MEM_FLASH,  /* programming clears bits, erase sets them */
	MEM_OTP,    /* programming clears bits, never erased */
	MEM_RAM,    /* written as sent (feature word) */
	/*
	 * Option bytes: written as sent (the ROM erases them and programs
	 * the new values, AN2662 2.11), then the device resets to load
	 * them.  AN2662 (STM32F105/107) 4.5.1: the write runs on the first
	 * GETSTATUS, which answers dfuDNBUSY, and "the device will
	 * immediately reset after write operation completion", so no second
	 * GETSTATUS answers.  ST's answer on the community forum
	 * (community.st.com, "STM32U5 serial bootloader AN3155
	 * discrepancy", 2025): on the F4, F7 and L4 series the bootloader
	 * software resets the chip after any option byte change.  The model
	 * comes back in DFU mode after that reset, with the option bytes
	 * kept: the ROM bootloader runs when BOOT0 is high (AN2606, "Boot
	 * configuration"), and BOOT0 is how a board enters it.
	 */
	MEM_OPTION,
};

struct page_group {
	uint32_t count, size;
};

struct mem_def {
	uint8_t alt;
	const char *name; /* iInterface string */
	enum mem_kind kind;
	uint32_t base;
	struct page_group groups[4];
	unsigned access; /* 1 readable, 2 erasable, 4 writable */
};

/*
 * What the device does with a GETSTATUS that comes while it is still in
 * dfuDNBUSY, before the time its bwPollTimeout promised has passed.
 */
enum busy_reply {
	/* DFU 1.1 A.2.5: the request is stalled, dfuERROR, errSTALLEDPKT. */
	BUSY_STALL_ERROR,
	/*
	 * The STM32 F4/F7/H7 ROMs: the answer is held until the command is
	 * done, then given (dfuDNLOAD-IDLE, or dfuERROR); a host whose
	 * timeout passes first sees a timeout, and the device goes on.
	 * dfu-util src/dfuse.c, fwupd/fwupd#6249 and #1944,
	 * micropython/micropython#5730.
	 */
	BUSY_HOLD,
	/*
	 * The STM32L4 ROM: the request is stalled and the device stays in
	 * dfuDNBUSY, no error (dfu-util's workaround in src/dfuse.c;
	 * redbear/Duo#50 on an STM32L412).
	 */
	BUSY_STALL_STAY,
};

struct profile {
	const char *id;
	const char *description;
	uint16_t vid, pid, bcd_device;
	uint8_t attributes;
	uint16_t detach_ms, transfer_size, bcd_dfu;
	struct mem_def mems[4];
	unsigned nmems;
	/* Flash timings, microseconds. */
	uint32_t prog_unit;	 /* bytes programmed at once */
	uint32_t prog_us;	 /* per unit */
	int strict_unit;	 /* writes must be whole aligned units */
	uint32_t (*erase_us)(uint32_t page_size);
	uint32_t mass_erase_us;
	/* GETSTATUS timing (model.h: "Busy"). */
	enum busy_reply busy_reply;
	/*
	 * bwPollTimeout answered when an erase (page, mass, read unprotect)
	 * starts; 0: the time the erase takes, rounded up to 1 ms.
	 */
	uint32_t erase_poll_ms;
	/*
	 * Page erases at this address or above leave the device in
	 * dfuDNBUSY until the host sends CLRSTATUS (the erase itself is
	 * done): the first answers dfuERROR, errUNKNOWN, the second dfuIDLE.
	 * The STM32H743 rev V ROM on its second bank, 0x08100000
	 * (betaflight/betaflight-configurator#1861, #1972, #5348;
	 * sourcebox/dfu-buddy#3).  0: never.
	 */
	uint32_t stuck_from;
	/* Programming never reports errVERIFY: bits it could not set stay
	 * clear and the device says success (the GD32VF103 ROM). */
	int write_unchecked;
	/* It leaves without answering the GETSTATUS after the leave request
	 * (the leave-gone fault, as the profile's own behaviour). */
	int leave_gone;
	/* iSerialNumber, sent as UTF-8 bytes rather than UTF-16LE when
	 * serial_utf8; NULL: the host gives one (usbhost's serial=). */
	int serial_utf8;
	const char *serial;
};

/*
 * STM32F405/407: DS8626 (rev 9), table "Flash memory programming",
 * typical values at x32 parallelism (VDD 2.7-3.6 V, which the ROM
 * bootloader uses): sector erase 16 KiB 250 ms, 64 KiB 550 ms, 128 KiB
 * 1 s; word (32-bit) programming 16 us; mass erase 8 s.
 */
static uint32_t
f405_erase_us(uint32_t page_size)
{
	if (page_size <= 16384)
		return 250000;
	if (page_size <= 65536)
		return 550000;
	return 1000000;
}

/*
 * STM32F105/107: DS6014, table "Flash memory characteristics": page
 * (2 KiB) erase 20 ms min, 40 ms max (no typical value given: the model
 * takes the maximum); half-word programming 52.5 us typical; mass erase
 * 20-40 ms.
 */
static uint32_t
f107_erase_us(uint32_t page_size)
{
	(void)page_size;
	return 40000;
}

/*
 * STM32L476: DS10198, table "Flash memory characteristics": page (2 KiB)
 * erase 22.02 ms typical; 64-bit programming 81.69 us typical; mass erase
 * 22.13 ms typical.  Flash is programmed by double words only (RM0351
 * 3.3.7); the model refuses anything else with errPROG.
 */
static uint32_t
l476_erase_us(uint32_t page_size)
{
	(void)page_size;
	return 22020;
}

/* The plain DFU 1.1 device is not a real part: round figures. */
static uint32_t
generic_erase_us(uint32_t page_size)
{
	(void)page_size;
	return 20000;
}

/*
 * STM32H742/743/753 (and the H750, which runs its ROM).  128 KiB sector
 * erase at x32 parallelism (voltage range 3): 1.1 s typical, 2.2 s
 * maximum, from DS12110's table as quoted by an ST employee
 * (community.st.com, "STM32H743 Flash EraseSector Reset Problem",
 * td-p/734674).  Flash word (256 bits) programming 130 us and bank
 * erase 6 s are not sourced: round figures of the model, not to be
 * quoted.  Flash is programmed by whole 32-byte flash words (RM0433
 * 4.3.9; "H7 programs flash in 256 bit units", community.st.com m-p/
 * 59967); the model refuses anything else with errPROG, as the strict
 * L476 model does.
 */
static uint32_t
h743_erase_us(uint32_t page_size)
{
	(void)page_size;
	return 1100000;
}

/*
 * GD32VF103: word (32-bit) programming 37.5 us, page (1 KiB) erase
 * 45 ms, mass erase 4 s.  Round figures of the model, remembered from
 * the GD32VF103 datasheet's "Flash memory characteristics" and not
 * re-read: do not quote them as the part's.  Its option bytes are
 * written as sent, without a reset: no source says this ROM resets after
 * writing them (the STM32 ROMs do, MEM_OPTION), so the profile also
 * keeps the path where a device carries on after its option bytes.
 */
static uint32_t
gd32vf103_erase_us(uint32_t page_size)
{
	(void)page_size;
	return 45000;
}

#define ST_VID 0x0483
#define ST_DFU_PID 0xdf11
#define RWE 7u
#define RW 5u

static const struct profile profiles[] = {
	{
		.id = "f405",
		.description = "STM32F405 ROM bootloader (pyboard): 1 MiB "
		"flash in 4x16K, 64K, 7x128K sectors",
		.vid = ST_VID, .pid = ST_DFU_PID, .bcd_device = 0x2200,
		.attributes = 0x0b, .detach_ms = 255, .transfer_size = 2048,
		.bcd_dfu = DFU_BCD_DFUSE,
		.mems = {
			{ 0, "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,"
			  "07*128Kg", MEM_FLASH, 0x08000000,
			  { { 4, 16384 }, { 1, 65536 }, { 7, 131072 } }, RWE },
			{ 1, "@Option Bytes  /0x1FFFC000/01*016 e", MEM_OPTION,
			  0x1fffc000, { { 1, 16 } }, RW },
			{ 2, "@OTP Memory /0x1FFF7800/01*512 e,01*016 e",
			  MEM_OTP, 0x1fff7800, { { 1, 512 }, { 1, 16 } }, RW },
			{ 3, "@Device Feature/0xFFFF0000/01*004 g", MEM_RAM,
			  0xffff0000, { { 1, 4 } }, RWE },
		},
		.nmems = 4,
		.prog_unit = 4, .prog_us = 16, .strict_unit = 0,
		.erase_us = f405_erase_us, .mass_erase_us = 8000000,
		/*
		 * 100 ms is what the F405 answers before a mass erase
		 * (dfu-util src/dfuse.c: "STM32F405 lies about mass erase
		 * timeout"); the model answers it before sector erases too,
		 * for want of a trace of those.
		 */
		.busy_reply = BUSY_HOLD, .erase_poll_ms = 100,
	},
	{
		.id = "f107",
		.description = "STM32F107 ROM bootloader: 256 KiB flash in "
		"128 pages of 2 KiB",
		.vid = ST_VID, .pid = ST_DFU_PID, .bcd_device = 0x2000,
		.attributes = 0x0b, .detach_ms = 255, .transfer_size = 2048,
		.bcd_dfu = DFU_BCD_DFUSE,
		.mems = {
			{ 0, "@Internal Flash  /0x08000000/128*002Kg",
			  MEM_FLASH, 0x08000000, { { 128, 2048 } }, RWE },
			{ 1, "@Option Bytes  /0x1FFFF800/01*016 e", MEM_OPTION,
			  0x1ffff800, { { 1, 16 } }, RW },
		},
		.nmems = 2,
		.prog_unit = 2, .prog_us = 53, .strict_unit = 0,
		.erase_us = f107_erase_us, .mass_erase_us = 40000,
	},
	{
		.id = "l476",
		.description = "STM32L476 ROM bootloader: 1 MiB flash in 512 "
		"pages of 2 KiB, programmed 8 bytes at a time",
		.vid = ST_VID, .pid = ST_DFU_PID, .bcd_device = 0x2200,
		.attributes = 0x0b, .detach_ms = 255, .transfer_size = 2048,
		.bcd_dfu = DFU_BCD_DFUSE,
		.mems = {
			{ 0, "@Internal Flash  /0x08000000/512*0002Kg",
			  MEM_FLASH, 0x08000000, { { 512, 2048 } }, RWE },
			/*
			 * The STM32L4 ROM's string (an L433's listing,
			 * mobilinkd/tnc3-firmware#12; the same on an L4 with
			 * 256 pages in public dfu-util listings): bank 1's
			 * option bytes, 0x1FFF7800-0x1FFF7827 (RM0351
			 * 3.4.1).  A listing of an L476 itself was not
			 * found; its bank 2 options (0x1FFFF800) are left
			 * out rather than guessed.
			 */
			{ 1, "@Option Bytes  /0x1FFF7800/01*040 e", MEM_OPTION,
			  0x1fff7800, { { 1, 40 } }, RW },
		},
		.nmems = 2,
		.prog_unit = 8, .prog_us = 82, .strict_unit = 1,
		.erase_us = l476_erase_us, .mass_erase_us = 22130,
		/*
		 * Too short a bwPollTimeout, so that the next GETSTATUS
		 * comes before the 22 ms page erase ends and is stalled.
		 * The value is the model's choice: no trace of the ROM's
		 * own was found.
		 */
		.busy_reply = BUSY_STALL_STAY, .erase_poll_ms = 10,
	},
	{
		/*
		 * The ROM strings: a dfu-util 0.11 listing of a WeAct
		 * STM32H750 (NuttX documentation, boards/weact-stm32h750),
		 * which runs the H743 ROM; the three spaces are the ROM's.
		 * wTransferSize 1024 ("Device returned transfer size 1024",
		 * same listing), bcdDevice 0x0200.  The layout string is one
		 * run of 16 sectors; the two banks of RM0433 (bank 2 from
		 * 0x08100000) are two page groups here.
		 */
		.id = "h743",
		.description = "STM32H743 ROM bootloader: 2 MiB flash in "
		"two banks of 8 x 128 KiB, programmed 32 bytes at a time",
		.vid = ST_VID, .pid = ST_DFU_PID, .bcd_device = 0x0200,
		.attributes = 0x0b, .detach_ms = 255, .transfer_size = 1024,
		.bcd_dfu = DFU_BCD_DFUSE,
		.mems = {
			{ 0, "@Internal Flash   /0x08000000/16*128Kg",
			  MEM_FLASH, 0x08000000,
			  { { 8, 131072 }, { 8, 131072 } }, RWE },
			{ 1, "@Option Bytes   /0x5200201C/01*128 e", MEM_OPTION,
			  0x5200201c, { { 1, 128 } }, RW },
		},
		.nmems = 2,
		.prog_unit = 32, .prog_us = 130, .strict_unit = 1,
		.erase_us = h743_erase_us, .mass_erase_us = 6000000,
		/*
		 * Rev V: bank-2 sector erases leave it in dfuDNBUSY until
		 * CLRSTATUS (see stuck_from).  It holds GETSTATUS during an
		 * erase as the F4/F7 ROMs do (issue 13's reading of
		 * fwupd/fwupd#6249); the bwPollTimeout it answers is the
		 * model's choice, as for the f405.
		 */
		.busy_reply = BUSY_HOLD, .erase_poll_ms = 100,
		.stuck_from = 0x08100000,
	},
	{
		/*
		 * GD32VF103CB ROM (Longan Nano): 28e9:0189, bcdDevice 0x1000,
		 * serial "3CBJ" and both alt strings from a dfu-util 0.11
		 * listing (aw/fiveforths#20); wTransferSize 2048
		 * (riscv-mcu/gd32-dfu-utils#4).  Alt 0 says 512 x 2 KiB; the
		 * flash is 128 x 1 KiB (gd32-dfu-utils#5), which is what
		 * the model has: an erase at an address erases the 1 KiB page
		 * holding it, and programming over bits that were not erased
		 * reports success (so a reflash planned on 2 KiB pages is
		 * silently corrupt).  The serial is UTF-8 (fwupd/fwupd#2815),
		 * and the device leaves without answering the GETSTATUS that
		 * follows the leave request (gd32-dfu-utils#4: "Error during
		 * download get_status"; dfu-util's QUIRK_DFUSE_LEAVE).
		 */
		.id = "gd32vf103",
		.description = "GigaDevice GD32VF103CB ROM bootloader "
		"(Longan Nano): 128 KiB flash in 1 KiB pages that it reports "
		"as 512 pages of 2 KiB",
		.vid = 0x28e9, .pid = 0x0189, .bcd_device = 0x1000,
		.attributes = 0x0b, .detach_ms = 255, .transfer_size = 2048,
		.bcd_dfu = DFU_BCD_DFUSE,
		.mems = {
			{ 0, "@Internal Flash  /0x08000000/512*002Kg",
			  MEM_FLASH, 0x08000000, { { 128, 1024 } }, RWE },
			{ 1, "@Option Bytes  /0x1FFFF800/01*016 g", MEM_RAM,
			  0x1ffff800, { { 1, 16 } }, RWE },
		},
		.nmems = 2,
		.prog_unit = 4, .prog_us = 38, .strict_unit = 0,
		.erase_us = gd32vf103_erase_us, .mass_erase_us = 4000000,
		.write_unchecked = 1, .leave_gone = 1,
		.serial = "3CBJ", .serial_utf8 = 1,
	},
	{
		/*
		 * STM32F722 ROM (tests/fixtures/layouts.tsv, MATEKF722SE: a
		 * dfu-util 0.11 listing; sectors as fwupd/fwupd#2062): the
		 * OTP string "01*528e" has no multiplier (528 bytes).
		 * Timings as the F405's (DS11853 gives the same figures for
		 * x32 parallelism as DS8626: not re-read for this model).
		 */
		.id = "f722",
		.description = "STM32F722 ROM bootloader: 512 KiB flash in "
		"4x16K, 64K, 3x128K sectors; OTP string without multiplier",
		.vid = ST_VID, .pid = ST_DFU_PID, .bcd_device = 0x2200,
		.attributes = 0x0b, .detach_ms = 255, .transfer_size = 2048,
		.bcd_dfu = DFU_BCD_DFUSE,
		.mems = {
			{ 0, "@Internal Flash  /0x08000000/04*016Kg,01*64Kg,"
			  "03*128Kg", MEM_FLASH, 0x08000000,
			  { { 4, 16384 }, { 1, 65536 }, { 3, 131072 } }, RWE },
			{ 1, "@Option Bytes  /0x1FFF0000/01*048 e", MEM_OPTION,
			  0x1fff0000, { { 1, 48 } }, RW },
			{ 2, "@OTP Memory /0x1FF07800/01*528e", MEM_OTP,
			  0x1ff07800, { { 1, 528 } }, RW },
			{ 3, "@Device Feature/0xFFFF0000/01*004 e", MEM_RAM,
			  0xffff0000, { { 1, 4 } }, RWE },
		},
		.nmems = 4,
		.prog_unit = 4, .prog_us = 16, .strict_unit = 0,
		.erase_us = f405_erase_us, .mass_erase_us = 8000000,
	},
	{
		.id = "dfu11",
		.description = "plain DFU 1.1 device (manifestation "
		"tolerant): 128 KiB firmware area",
		.vid = 0x1209, .pid = 0x0001, .bcd_device = 0x0100,
		.attributes = 0x07, .detach_ms = 255, .transfer_size = 1024,
		.bcd_dfu = DFU_BCD_DFU_1_1,
		.mems = {
			{ 0, "Firmware", MEM_FLASH, 0,
			  { { 128, 1024 } }, RWE },
		},
		.nmems = 1,
		.prog_unit = 4, .prog_us = 16, .strict_unit = 0,
		.erase_us = generic_erase_us, .mass_erase_us = 2560000,
	},
	{
		.id = "dfu11-reset",
		.description = "plain DFU 1.1 device that must be reset "
		"after manifestation: 128 KiB firmware area",
		.vid = 0x1209, .pid = 0x0001, .bcd_device = 0x0100,
		.attributes = 0x03, .detach_ms = 255, .transfer_size = 1024,
		.bcd_dfu = DFU_BCD_DFU_1_1,
		.mems = {
			{ 0, "Firmware", MEM_FLASH, 0,
			  { { 128, 1024 } }, RWE },
		},
		.nmems = 1,
		.prog_unit = 4, .prog_us = 16, .strict_unit = 0,
		.erase_us = generic_erase_us, .mass_erase_us = 2560000,
	},
};

#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

/*
 * The STM32 ROM bootloaders answer iString 0; the plain DFU profiles
 * describe a failed command in this string descriptor, as DFU 1.1 6.1.2
 * allows.
 */
#define MODEL_ERROR_STRING 4

enum op_kind {
	OP_NONE,
	OP_ADDRESS,
	OP_ERASE,
	OP_MASS_ERASE,
	OP_UNPROTECT,
	OP_WRITE,
	OP_MANIFEST,
	OP_NKINDS,
};

static const char *const op_names[OP_NKINDS] = {
	"", "address", "erase", "mass-erase", "unprotect", "write", "manifest",
};

struct fault {
	enum { F_STALL, F_DISCONNECT, F_STATUS, F_BUSY, F_CORRUPT, F_SKIP,
		F_STUCK } type;
	enum op_kind op;
	unsigned n;
	uint8_t status;
};

struct mem {
	const struct mem_def *def;
	uint32_t size;
	uint8_t *bytes;
};

struct dfl_model {
	const struct profile *p;
	struct dfl_device dev;
	struct dfl_alt alts[4];
	struct mem mems[4];
	int alt;
	uint8_t state, status;
	uint32_t pointer;
	/* The pending command and when it completes. */
	enum op_kind op;
	uint32_t op_addr;
	uint16_t op_len;
	uint8_t op_data[4096];
	int op_started;
	uint8_t op_result;
	/* Plain profiles describe their errors in string descriptor 4. */
	char error_text[96];
	int op_busy_forever;
	int op_stuck;		/* in dfuDNBUSY until CLRSTATUS */
	uint32_t stuck_from;	/* the profile's, or stuck-from:ADDRESS */
	uint64_t held_us;	/* the last answer was held this long */
	int op_skip;		/* erase:N=skip: this erase does nothing */
	int write_unchecked;	/* since a skipped erase: no errVERIFY */
	int op_corrupt;
	int op_resets;		/* option bytes written: reset after answering */
	uint16_t transfer_size;
	uint64_t busy_until;
	unsigned op_count[OP_NKINDS];
	/* Plain DFU: running offsets. */
	uint32_t plain_off, plain_up_off;
	struct fault faults[16];
	unsigned nfaults;
	int zero_poll, leave_gone;
	int manifest_gone;	/* the manifest-gone fault */
	int leave_fail;		/* leave-gone=stall|io: that transfer error */
	int read_protected; /* the read-protect fault, until unprotected */
	int dfu_pending; /* detached from run-time mode, back in DFU mode next */
	struct dfl_alt runtime_alt;
	FILE *trace;
	struct dfl_model_stats st;
};

const char *
dfl_model_profile_names(void)
{
	return "f405 f107 l476 h743 gd32vf103 f722 dfu11 dfu11-reset";
}

static uint32_t
mem_size(const struct mem_def *d)
{
	uint32_t n = 0;

	for (unsigned g = 0; g < 4; g++)
		n += d->groups[g].count * d->groups[g].size;
	return n;
}

struct dfl_model *
dfl_model_new(const char *profile)
{
	const struct profile *p = NULL;
	struct dfl_model *m;

	for (size_t i = 0; i < NPROFILES; i++)
		if (strcmp(profiles[i].id, profile) == 0)
			p = &profiles[i];
	if (p == NULL || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->p = p;
	m->dev.idVendor = p->vid;
	m->dev.idProduct = p->pid;
	m->dev.bcdDevice = p->bcd_device;
	m->dev.bmAttributes = p->attributes;
	m->dev.wDetachTimeOut = p->detach_ms;
	m->dev.wTransferSize = p->transfer_size;
	m->transfer_size = p->transfer_size;
	m->dev.bcdDFUVersion = p->bcd_dfu;
	m->dev.bInterfaceProtocol = DFL_PROTOCOL_DFU;
	m->dev.alts = m->alts;
	m->dev.nalts = p->nmems;
	/* As a host reads it: usb.c decodes the UTF-8 one as UTF-8. */
	m->dev.serial = p->serial;
	for (unsigned i = 0; i < p->nmems; i++) {
		m->alts[i].alt = p->mems[i].alt;
		m->alts[i].name = p->mems[i].name;
		m->mems[i].def = &p->mems[i];
		m->mems[i].size = mem_size(&p->mems[i]);
		m->mems[i].bytes = malloc(m->mems[i].size);
		if (m->mems[i].bytes == NULL) {
			dfl_model_free(m);
			return NULL;
		}
		memset(m->mems[i].bytes, 0xff, m->mems[i].size);
	}
	/* Option bytes: RDP 0xaa is read protection level 0 (RM0090 3.7.3). */
	if (strcmp(p->id, "f405") == 0)
		m->mems[1].bytes[0] = 0xaa;
	dfl_model_replug(m);
	return m;
}

void
dfl_model_free(struct dfl_model *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < 4; i++)
		free(m->mems[i].bytes);
	free(m);
}

const char *
dfl_model_description(const struct dfl_model *m)
{
	return m->p->description;
}

const char *
dfl_model_serial(const struct dfl_model *m, int *utf8)
{
	*utf8 = m->p->serial_utf8;
	return m->p->serial;
}

const struct dfl_device *
dfl_model_device(const struct dfl_model *m)
{
	return &m->dev;
}

uint8_t *
dfl_model_memory(struct dfl_model *m, uint32_t *base, uint32_t *size)
{
	*base = m->mems[0].def->base;
	*size = m->mems[0].size;
	return m->mems[0].bytes;
}

const struct dfl_model_stats *
dfl_model_stats(struct dfl_model *m)
{
	m->st.state = m->state;
	m->st.status = m->status;
	m->st.comes_back = m->st.gone && m->dfu_pending;
	return &m->st;
}

void
dfl_model_trace(struct dfl_model *m, FILE *fp)
{
	m->trace = fp;
}

/* The DFU-mode descriptors (DFU 1.1 4.2). */
static void
dfu_mode(struct dfl_model *m)
{
	m->dev.bInterfaceProtocol = DFL_PROTOCOL_DFU;
	m->dev.alts = m->alts;
	m->dev.nalts = m->p->nmems;
}

void
dfl_model_replug(struct dfl_model *m)
{
	uint64_t t = m->st.time_us;

	memset(&m->st, 0, sizeof(m->st));
	m->st.time_us = t;
	m->alt = 0;
	m->state = DFU_STATE_IDLE;
	m->status = DFU_STATUS_OK;
	m->pointer = m->mems[0].def->base;
	m->op = OP_NONE;
	m->op_busy_forever = 0;
	m->op_stuck = 0;
	m->stuck_from = m->p->stuck_from;
	m->held_us = 0;
	m->write_unchecked = 0;
	m->nfaults = 0;
	m->zero_poll = m->manifest_gone = m->leave_fail = 0;
	m->leave_gone = m->p->leave_gone;
	m->op_resets = 0;
	m->read_protected = 0;
	m->dfu_pending = 0;
	dfu_mode(m);
	m->plain_off = m->plain_up_off = 0;
	m->error_text[0] = '\0';
	memset(m->op_count, 0, sizeof(m->op_count));
}

int
dfl_model_fault(struct dfl_model *m, const char *spec, char *err,
    size_t errlen)
{
	struct fault f;
	const char *colon = strchr(spec, ':'), *eq;
	char *end;
	unsigned long n;

	memset(&f, 0, sizeof(f));
	if (strcmp(spec, "zero-poll") == 0) {
		m->zero_poll = 1;
		return 0;
	}
	if (strcmp(spec, "leave-gone") == 0) {
		m->leave_gone = 1;
		return 0;
	}
	if (strcmp(spec, "leave-gone=stall") == 0 ||
	    strcmp(spec, "leave-gone=io") == 0) {
		m->leave_fail = spec[11] == 's' ? DFL_XFER_STALL : DFL_XFER_IO;
		return 0;
	}
	if (strcmp(spec, "manifest-gone") == 0 &&
	    m->p->bcd_dfu != DFU_BCD_DFUSE) {
		m->manifest_gone = 1;
		return 0;
	}
	if (strcmp(spec, "read-protect") == 0 &&
	    m->p->bcd_dfu == DFU_BCD_DFUSE) {
		m->read_protected = 1;
		return 0;
	}
	if (strncmp(spec, "stuck-from:", 11) == 0 &&
	    m->p->bcd_dfu == DFU_BCD_DFUSE) {
		n = strtoul(spec + 11, &end, 0);
		if (end == spec + 11 || *end != '\0' || n > UINT32_MAX)
			goto bad;
		m->stuck_from = (uint32_t)n;
		return 0;
	}
	if (strcmp(spec, "runtime") == 0) {
		/*
		 * Run-time mode (DFU 1.1 4.1): one interface, protocol 1, no
		 * memories; appIDLE until DETACH.
		 */
		m->runtime_alt.alt = 0;
		m->runtime_alt.name = "DFU run-time";
		m->dev.bInterfaceProtocol = DFL_PROTOCOL_RUNTIME;
		m->dev.alts = &m->runtime_alt;
		m->dev.nalts = 1;
		m->state = DFU_STATE_APP_IDLE;
		return 0;
	}
	if (strcmp(spec, "runtime-in-dfu") == 0) {
		/*
		 * Run-time descriptors on a device that is in DFU mode
		 * (dfuIDLE, its memories as usual), as NXP's LPC43xx ROM
		 * bootloader enumerates (engine_request.c,
		 * eng_enter_dfu_mode): DETACH stalls, as in any DFU state.
		 */
		m->dev.bInterfaceProtocol = DFL_PROTOCOL_RUNTIME;
		return 0;
	}
	if (m->nfaults == sizeof(m->faults) / sizeof(m->faults[0])) {
		snprintf(err, errlen, "%s: too many faults", spec);
		return -1;
	}
	if (colon == NULL)
		goto bad;
	n = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || n == 0 || n > 1000000)
		goto bad;
	f.n = (unsigned)n;
	if ((size_t)(colon - spec) == 5 && strncmp(spec, "stall", 5) == 0 &&
	    *end == '\0')
		f.type = F_STALL;
	else if ((size_t)(colon - spec) == 10 &&
	    strncmp(spec, "disconnect", 10) == 0 && *end == '\0')
		f.type = F_DISCONNECT;
	else {
		for (int k = OP_ADDRESS; k < OP_NKINDS; k++)
			if (strlen(op_names[k]) == (size_t)(colon - spec) &&
			    strncmp(spec, op_names[k], (size_t)(colon - spec))
			    == 0)
				f.op = (enum op_kind)k;
		if (f.op == OP_NONE || f.op == OP_UNPROTECT || *end != '=')
			goto bad;
		eq = end + 1;
		if (strcmp(eq, "busy") == 0)
			f.type = F_BUSY;
		else if (strcmp(eq, "corrupt") == 0 && f.op == OP_WRITE)
			f.type = F_CORRUPT;
		else if (strcmp(eq, "skip") == 0 && f.op == OP_ERASE)
			f.type = F_SKIP;
		else if (strcmp(eq, "stuck") == 0 && f.op == OP_ERASE)
			f.type = F_STUCK;
		else {
			int s;

			for (s = 1; s <= DFU_STATUS_STALLEDPKT; s++)
				if (strcmp(eq, dfu_status_name(s)) == 0)
					break;
			if (s > DFU_STATUS_STALLEDPKT) {
				snprintf(err, errlen, "%s: unknown status %s "
				    "(errWRITE, errERASE, errVERIFY, ...)",
				    spec, eq);
				return -1;
			}
			f.type = F_STATUS;
			f.status = (uint8_t)s;
		}
	}
	m->faults[m->nfaults++] = f;
	return 0;
bad:
	snprintf(err, errlen, "%s: expected stall:N, disconnect:N, "
	    "KIND:N=STATUS, KIND:N=busy, write:N=corrupt, erase:N=skip, "
	    "erase:N=stuck, stuck-from:ADDRESS (DfuSe), zero-poll, "
	    "leave-gone, leave-gone=stall, leave-gone=io, runtime, "
	    "runtime-in-dfu, read-protect (DfuSe) or manifest-gone "
	    "(DFU 1.1)", spec);
	return -1;
}

static void __attribute__((format(printf, 2, 3)))
trace(struct dfl_model *m, const char *fmt, ...)
{
	va_list ap;

	if (m->trace == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(m->trace, fmt, ap);
	va_end(ap);
	fputc('\n', m->trace);
}

/* Memory of the current alt holding [addr, addr + len), or NULL. */
static struct mem *
find_mem(struct dfl_model *m, uint32_t addr, uint32_t len)
{
	for (unsigned i = 0; i < m->p->nmems; i++) {
		struct mem *x = &m->mems[i];

		if (x->def->alt != m->alt)
			continue;
		if (addr >= x->def->base && (uint64_t)addr + len <=
		    (uint64_t)x->def->base + x->size)
			return x;
	}
	return NULL;
}

/* The page of x holding addr: start and size. */
static void
find_page(const struct mem *x, uint32_t addr, uint32_t *start,
    uint32_t *size)
{
	uint32_t a = x->def->base;

	for (unsigned g = 0; g < 4; g++) {
		const struct page_group *pg = &x->def->groups[g];

		if (pg->count == 0)
			break;
		if (addr < a + pg->count * pg->size) {
			*start = a + (addr - a) / pg->size * pg->size;
			*size = pg->size;
			return;
		}
		a += pg->count * pg->size;
	}
	*start = addr;
	*size = 0;
}

static int
stall(struct dfl_model *m)
{
	m->st.stalls++;
	/* Run-time mode stalls and stays (DFU 1.1 A.1). */
	if (m->state == DFU_STATE_APP_IDLE || m->state == DFU_STATE_APP_DETACH)
		return DFL_XFER_STALL;
	m->state = DFU_STATE_ERROR;
	m->status = DFU_STATUS_STALLEDPKT;
	return DFL_XFER_STALL;
}

/* Elapsed busy time turns dfuDNBUSY / dfuMANIFEST into the sync state. */
static void
settle(struct dfl_model *m)
{
	if ((m->state == DFU_STATE_DNBUSY || m->state == DFU_STATE_MANIFEST) &&
	    m->st.time_us >= m->busy_until && !m->op_busy_forever &&
	    !m->op_stuck)
		m->state = m->state == DFU_STATE_DNBUSY ?
		    DFU_STATE_DNLOAD_SYNC : DFU_STATE_MANIFEST_SYNC;
}

/*
 * Per-request bookkeeping: cost, trace, injected stalls and disconnects.
 * Returns 0 to go on, or the transfer error to return.
 */
static int
begin_request(struct dfl_model *m, const char *what, uint16_t len)
{
	if (m->st.gone) {
		trace(m, "%s -> gone", what);
		return DFL_XFER_GONE;
	}
	m->st.requests++;
	m->st.time_us += USB_TRANSFER_US +
	    (uint64_t)len * 1000000 / USB_CONTROL_BYTES_PER_S;
	for (unsigned i = 0; i < m->nfaults; i++) {
		const struct fault *f = &m->faults[i];

		if (f->type == F_DISCONNECT && m->st.requests >= f->n) {
			m->st.gone = 1;
			trace(m, "%s -> gone (fault)", what);
			return DFL_XFER_GONE;
		}
		if (f->type == F_STALL && m->st.requests == f->n) {
			trace(m, "%s -> STALL (fault)", what);
			return stall(m);
		}
	}
	settle(m);
	return 0;
}

static uint32_t
write_us(const struct dfl_model *m, uint32_t len)
{
	uint32_t units = (len + m->p->prog_unit - 1) / m->p->prog_unit;

	return units * m->p->prog_us;
}

static void
erase_all(struct dfl_model *m)
{
	memset(m->mems[0].bytes, 0xff, m->mems[0].size);
}

/* Carry out the pending command: its effect, its status and its time. */
static uint8_t
run_op(struct dfl_model *m, uint64_t *us)
{
	struct mem *x;
	uint32_t ps, psz;

	*us = CMD_US;
	m->op_count[m->op]++;
	m->op_corrupt = 0;
	m->op_skip = 0;
	m->op_stuck = 0;
	m->op_resets = 0;
	for (unsigned i = 0; i < m->nfaults; i++) {
		const struct fault *f = &m->faults[i];

		if (f->op != m->op || f->n != m->op_count[m->op])
			continue;
		if (f->type == F_STATUS)
			return f->status;
		if (f->type == F_BUSY)
			m->op_busy_forever = 1;
		if (f->type == F_CORRUPT)
			m->op_corrupt = 1;
		if (f->type == F_SKIP)
			m->op_skip = 1;
		if (f->type == F_STUCK)
			m->op_stuck = 1;
	}
	switch (m->op) {
	case OP_ADDRESS:
		/* AN3156: an address outside the memory is refused. */
		if (find_mem(m, m->op_addr, 1) == NULL)
			return DFU_STATUS_ADDRESS;
		m->pointer = m->op_addr;
		m->st.set_address++;
		return DFU_STATUS_OK;
	case OP_ERASE:
		/* AN2662 4.5.3: with read protection the erase is ignored. */
		if (m->read_protected)
			return DFU_STATUS_VENDOR;
		x = find_mem(m, m->op_addr, 1);
		/* What the layout says is erasable is; OTP never is. */
		if (x == NULL || x->def->kind == MEM_OTP ||
		    !(x->def->access & 2))
			return DFU_STATUS_TARGET;
		find_page(x, m->op_addr, &ps, &psz);
		if (m->op_skip)
			m->write_unchecked = 1;
		else
			memset(x->bytes + (ps - x->def->base), 0xff, psz);
		*us = m->p->erase_us(psz);
		if (m->stuck_from != 0 && m->op_addr >= m->stuck_from)
			m->op_stuck = 1;
		m->st.pages_erased++;
		m->st.bytes_erased += psz;
		return DFU_STATUS_OK;
	case OP_MASS_ERASE:
	case OP_UNPROTECT:
		if (m->op == OP_UNPROTECT)
			m->read_protected = 0;
		erase_all(m);
		*us = m->p->mass_erase_us;
		m->st.mass_erases++;
		return DFU_STATUS_OK;
	case OP_WRITE:
		x = find_mem(m, m->op_addr, m->op_len);
		if (x == NULL)
			return DFU_STATUS_ADDRESS;
		if (!(x->def->access & 4))
			return DFU_STATUS_WRITE;
		{
			uint8_t *b = x->bytes + (m->op_addr - x->def->base);
			int failed = 0;

			if (x->def->kind == MEM_RAM ||
			    x->def->kind == MEM_OPTION) {
				memcpy(b, m->op_data, m->op_len);
				m->st.bytes_written += m->op_len;
				m->op_resets = x->def->kind == MEM_OPTION;
				return DFU_STATUS_OK;
			}
			if (m->p->strict_unit &&
			    ((m->op_addr | m->op_len) % m->p->prog_unit) != 0)
				return DFU_STATUS_PROG;
			for (uint32_t i = 0; i < m->op_len; i++) {
				/* Flash only clears bits. */
				b[i] &= m->op_data[i];
				if (b[i] != m->op_data[i])
					failed = 1;
			}
			/* The fault: bit 0 of the first byte stays clear. */
			if (m->op_corrupt)
				b[0] &= 0xfe;
			*us = write_us(m, m->op_len);
			m->st.blocks_written++;
			m->st.bytes_written += m->op_len;
			return failed && !m->write_unchecked &&
			    !m->p->write_unchecked ?
			    DFU_STATUS_VERIFY : DFU_STATUS_OK;
		}
	default:
		return DFU_STATUS_OK;
	}
}

static void
answer_status(struct dfl_model *m, uint8_t *data, uint32_t poll_ms)
{
	data[0] = m->status;
	data[1] = (uint8_t)poll_ms;
	data[2] = (uint8_t)(poll_ms >> 8);
	data[3] = (uint8_t)(poll_ms >> 16);
	data[4] = m->state;
	data[5] = m->state == DFU_STATE_ERROR && m->error_text[0] != '\0' ?
	    MODEL_ERROR_STRING : 0;
}

static int
is_dfuse(const struct dfl_model *m)
{
	return m->p->bcd_dfu == DFU_BCD_DFUSE;
}

static int
is_erase(enum op_kind op)
{
	return op == OP_ERASE || op == OP_MASS_ERASE || op == OP_UNPROTECT;
}

/*
 * A GETSTATUS in dfuDNBUSY before the command is done: the profile's
 * busy_reply.  Returns 0 when the answer is to be given now (the command
 * has ended: the state is dfuDNLOAD-SYNC), or the transfer error.
 */
static int
getstatus_busy(struct dfl_model *m, uint32_t timeout_ms)
{
	uint64_t left = m->busy_until - m->st.time_us;

	switch (m->p->busy_reply) {
	case BUSY_HOLD:
		if (left > (uint64_t)timeout_ms * 1000) {
			m->st.time_us += (uint64_t)timeout_ms * 1000;
			m->held_us = (uint64_t)timeout_ms * 1000;
			trace(m, "GETSTATUS -> no answer in %u ms (busy)",
			    timeout_ms);
			return DFL_XFER_TIMEOUT;
		}
		m->st.time_us += left;
		m->held_us = left;
		settle(m);
		return 0;
	case BUSY_STALL_STAY:
		m->st.stalls++;
		trace(m, "GETSTATUS -> STALL (busy, %llu us left)",
		    (unsigned long long)left);
		return DFL_XFER_STALL;
	default:
		/* Polled before bwPollTimeout elapsed (DFU 1.1 A.2.5). */
		return stall(m);
	}
}

static int
getstatus(struct dfl_model *m, uint8_t *data, uint16_t len,
    uint32_t timeout_ms)
{
	uint32_t poll = 0;
	uint64_t us;
	int rc;

	m->held_us = 0;
	if (len < DFU_STATUS_SIZE)
		return stall(m);
	if (m->state == DFU_STATE_DNBUSY && !m->op_busy_forever &&
	    !m->op_stuck && (rc = getstatus_busy(m, timeout_ms)) != 0)
		return rc;
	switch (m->state) {
	case DFU_STATE_DNLOAD_SYNC:
		if (!m->op_started) {
			/* The command runs now; the answer is dfuDNBUSY. */
			m->op_started = 1;
			m->op_result = run_op(m, &us);
			m->state = DFU_STATE_DNBUSY;
			if (m->zero_poll) {
				m->st.time_us += us;
				m->busy_until = m->st.time_us;
			} else {
				poll = (uint32_t)((us + 999) / 1000);
				m->busy_until = m->st.time_us + us;
				if (is_erase(m->op) && m->p->erase_poll_ms != 0)
					poll = m->p->erase_poll_ms;
			}
			if (m->op_busy_forever || m->op_stuck)
				poll = 100;
			if (m->op_resets && m->op_result == DFU_STATUS_OK) {
				/*
				 * Option bytes: it answers dfuDNBUSY, writes
				 * them and resets (MEM_OPTION); BOOT0 brings
				 * it back in DFU mode.
				 */
				answer_status(m, data, poll);
				m->st.time_us = m->busy_until;
				m->st.gone = 1;
				m->st.resets++;
				m->dfu_pending = 1;
				m->op = OP_NONE;
				trace(m, "GETSTATUS -> %s %s %ums (option bytes "
				    "written: resets)",
				    dfu_status_name(m->status),
				    dfu_state_name(m->state), poll);
				return DFU_STATUS_SIZE;
			}
			break;
		}
		if (m->op_result != DFU_STATUS_OK) {
			m->state = DFU_STATE_ERROR;
			m->status = m->op_result;
			if (!is_dfuse(m))
				snprintf(m->error_text, sizeof(m->error_text),
				    "%s failed at offset 0x%x: %s",
				    op_names[m->op], m->op_addr,
				    dfu_status_name(m->op_result));
		} else
			m->state = DFU_STATE_DNLOAD_IDLE;
		m->op = OP_NONE;
		break;
	case DFU_STATE_DNBUSY:
		/* busy forever (the fault), or stuck until CLRSTATUS */
		poll = 100;
		m->busy_until = m->st.time_us + 100000;
		break;
	case DFU_STATE_MANIFEST_SYNC:
		if (is_dfuse(m)) {
			/*
			 * AN3156: the bootloader jumps to the address pointer.
			 * It answers dfuMANIFEST first, unless it has already
			 * gone (the leave-gone fault).
			 */
			m->st.left = 1;
			m->st.left_address = m->pointer;
			if (m->leave_gone) {
				m->st.gone = 1;
				trace(m, "GETSTATUS -> gone (left)");
				return DFL_XFER_GONE;
			}
			m->state = DFU_STATE_MANIFEST;
			answer_status(m, data, 0);
			m->st.gone = 1;
			trace(m, "GETSTATUS -> %s %s (left to 0x%08x)",
			    dfu_status_name(m->status),
			    dfu_state_name(m->state), m->pointer);
			return DFU_STATUS_SIZE;
		}
		if (m->op == OP_MANIFEST) {
			m->op = OP_NONE;
			m->op_count[OP_MANIFEST]++;
			for (unsigned i = 0; i < m->nfaults; i++)
				if (m->faults[i].op == OP_MANIFEST &&
				    m->faults[i].type == F_STATUS &&
				    m->faults[i].n == m->op_count[OP_MANIFEST]) {
					m->state = DFU_STATE_ERROR;
					m->status = m->faults[i].status;
					answer_status(m, data, 0);
					return DFU_STATUS_SIZE;
				}
			m->state = DFU_STATE_MANIFEST;
			poll = 10;
			m->busy_until = m->st.time_us + 10000;
			if (m->manifest_gone) {
				/* The fault: it answers, then runs its new
				 * firmware without waiting for a reset. */
				answer_status(m, data, poll);
				m->st.gone = 1;
				m->st.left = 1;
				trace(m, "GETSTATUS -> %s %s %ums (then gone: "
				    "manifested)", dfu_status_name(m->status),
				    dfu_state_name(m->state), poll);
				return DFU_STATUS_SIZE;
			}
			break;
		}
		/* Manifestation over (DFU 1.1 A.2.6/A.2.7). */
		if (m->p->attributes & DFU_ATTR_MANIFESTATION_TOLERANT)
			m->state = DFU_STATE_IDLE;
		else
			m->state = DFU_STATE_MANIFEST_WAIT_RESET;
		break;
	case DFU_STATE_MANIFEST:
	case DFU_STATE_MANIFEST_WAIT_RESET:
		/* DFU 1.1 A.2.8: only a reset gets out of the latter. */
		return stall(m);
	default:
		break;
	}
	answer_status(m, data, poll);
	if (m->held_us > 0)
		trace(m, "GETSTATUS -> %s %s %ums (held %llu us)",
		    dfu_status_name(m->status), dfu_state_name(m->state), poll,
		    (unsigned long long)m->held_us);
	else
		trace(m, "GETSTATUS -> %s %s %ums", dfu_status_name(m->status),
		    dfu_state_name(m->state), poll);
	return DFU_STATUS_SIZE;
}

static int
dnload(struct dfl_model *m, uint16_t value, const uint8_t *data, uint16_t len)
{
	if (m->state != DFU_STATE_IDLE && m->state != DFU_STATE_DNLOAD_IDLE)
		return stall(m);
	if (!(m->p->attributes & DFU_ATTR_CAN_DNLOAD))
		return stall(m);
	if (len == 0) {
		/* Manifestation starts from dfuDNLOAD-IDLE only (A.2.3). */
		if (m->state != DFU_STATE_DNLOAD_IDLE)
			return stall(m);
		m->state = DFU_STATE_MANIFEST_SYNC;
		m->op = OP_MANIFEST;
		return 0;
	}
	if (len > m->transfer_size)
		return stall(m);
	m->op_started = 0;
	m->op_len = len;
	memcpy(m->op_data, data, len);
	if (!is_dfuse(m)) {
		struct mem *x = &m->mems[0];

		if (value == 0)
			m->plain_off = 0;
		if ((uint64_t)m->plain_off + len > x->size)
			return stall(m);
		/*
		 * Erase each page when the download reaches its start (blocks
		 * come in order, so every page is erased once).
		 */
		for (uint32_t a = m->plain_off; a < m->plain_off + len;) {
			uint32_t ps, psz;

			find_page(x, a, &ps, &psz);
			if (ps >= m->plain_off) {
				memset(x->bytes + ps, 0xff, psz);
				m->st.time_us += m->p->erase_us(psz);
				m->st.pages_erased++;
				m->st.bytes_erased += psz;
			}
			a = ps + psz;
		}
		m->op = OP_WRITE;
		m->op_addr = m->plain_off;
		m->plain_off += len;
	} else if (value == 0) {
		if (len == 1 && data[0] == DFUSE_CMD_ERASE)
			m->op = OP_MASS_ERASE;
		else if (len == 1 && data[0] == DFUSE_CMD_READ_UNPROTECT)
			m->op = OP_UNPROTECT;
		else if (len == 5 && (data[0] == DFUSE_CMD_SET_ADDRESS ||
		    data[0] == DFUSE_CMD_ERASE)) {
			m->op = data[0] == DFUSE_CMD_ERASE ? OP_ERASE :
			    OP_ADDRESS;
			m->op_addr = (uint32_t)data[1] |
			    (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
			    (uint32_t)data[4] << 24;
		} else
			return stall(m);
	} else if (value == 1) {
		return stall(m); /* reserved (UM0424) */
	} else {
		m->op = OP_WRITE;
		m->op_addr = m->pointer +
		    (uint32_t)(value - DFUSE_FIRST_BLOCK) * m->transfer_size;
	}
	m->state = DFU_STATE_DNLOAD_SYNC;
	return len;
}

static int
upload(struct dfl_model *m, uint16_t value, uint8_t *data, uint16_t len)
{
	struct mem *x;
	uint32_t addr, n;

	if (m->state != DFU_STATE_IDLE && m->state != DFU_STATE_UPLOAD_IDLE)
		return stall(m);
	if (!(m->p->attributes & DFU_ATTR_CAN_UPLOAD) ||
	    len > m->transfer_size)
		return stall(m);
	if (!is_dfuse(m)) {
		x = &m->mems[0];
		if (value == 0)
			m->plain_up_off = 0;
		n = x->size - m->plain_up_off;
		if (n > len)
			n = len;
		memcpy(data, x->bytes + m->plain_up_off, n);
		m->plain_up_off += n;
	} else if (value == 0) {
		static const uint8_t cmds[] = { DFUSE_CMD_GET,
			DFUSE_CMD_SET_ADDRESS, DFUSE_CMD_ERASE,
			DFUSE_CMD_READ_UNPROTECT };

		n = len < sizeof(cmds) ? len : sizeof(cmds);
		memcpy(data, cmds, n);
	} else if (value == 1) {
		return stall(m);
	} else {
		addr = m->pointer +
		    (uint32_t)(value - DFUSE_FIRST_BLOCK) * m->transfer_size;
		x = find_mem(m, addr, 1);
		if (x == NULL || !(x->def->access & 1))
			return stall(m);
		/*
		 * AN2662 4.4.1 (and AN3156): with read protection the read is
		 * not performed and the device reports dfuERROR, errVENDOR.
		 */
		if (m->read_protected) {
			stall(m);
			m->status = DFU_STATUS_VENDOR;
			return DFL_XFER_STALL;
		}
		n = x->def->base + x->size - addr;
		if (n > len)
			n = len;
		memcpy(data, x->bytes + (addr - x->def->base), n);
	}
	m->st.bytes_read += n;
	m->state = n < len ? DFU_STATE_IDLE : DFU_STATE_UPLOAD_IDLE;
	return (int)n;
}

static int
model_out(void *ctx, uint8_t request, uint16_t value, const uint8_t *data,
    uint16_t len)
{
	struct dfl_model *m = ctx;
	char what[64];
	int rc;

	if (request == DFU_DNLOAD && value == 0 && len > 0 && len <= 5) {
		int n = snprintf(what, sizeof(what), "DNLOAD 0");

		for (uint16_t i = 0; i < len; i++)
			n += snprintf(what + n, sizeof(what) - (size_t)n,
			    " %02x", data[i]);
	} else if (request == DFU_DNLOAD)
		snprintf(what, sizeof(what), "DNLOAD %u len %u", value, len);
	else
		snprintf(what, sizeof(what), "%s", dfu_request_name(request));
	if ((rc = begin_request(m, what, len)) != 0)
		return rc;
	if (request == DFU_DNLOAD && len == 0 && m->leave_fail != 0 &&
	    m->state == DFU_STATE_DNLOAD_IDLE &&
	    (m->p->attributes & DFU_ATTR_CAN_DNLOAD)) {
		/*
		 * The leave-gone=stall|io fault: the device resets during the
		 * zero-length DNLOAD that ends the download, before its status
		 * stage completes; the host sees a stall or an I/O error and
		 * then no device.  The race of leave-gone one request earlier:
		 * devices that reset at leave while the host still talks to
		 * them fail the GETSTATUS after it in monome/crow#128 and
		 * riscv-mcu/gd32-dfu-utils#4, with LIBUSB_ERROR_PIPE in
		 * arduino/help-center-content#499.
		 */
		m->st.gone = 1;
		m->st.left = 1;
		if (is_dfuse(m))
			m->st.left_address = m->pointer;
		trace(m, "%s -> %s (fault: then gone)", what,
		    m->leave_fail == DFL_XFER_STALL ? "STALL" : "I/O error");
		return m->leave_fail;
	}
	switch (request) {
	case DFU_DNLOAD:
		rc = dnload(m, value, data, len);
		break;
	case DFU_CLRSTATUS:
		if (m->state == DFU_STATE_DNBUSY && m->op_stuck) {
			/* The first CLRSTATUS of the stuck ROM (stuck_from). */
			m->op_stuck = 0;
			m->op = OP_NONE;
			m->state = DFU_STATE_ERROR;
			m->status = DFU_STATUS_UNKNOWN;
			rc = 0;
			break;
		}
		if (m->state != DFU_STATE_ERROR) {
			rc = stall(m);
			break;
		}
		m->state = DFU_STATE_IDLE;
		m->status = DFU_STATUS_OK;
		m->error_text[0] = '\0';
		rc = 0;
		break;
	case DFU_ABORT:
		if (m->state != DFU_STATE_IDLE &&
		    m->state != DFU_STATE_DNLOAD_IDLE &&
		    m->state != DFU_STATE_UPLOAD_IDLE) {
			rc = stall(m);
			break;
		}
		m->state = DFU_STATE_IDLE;
		rc = 0;
		break;
	case DFU_DETACH:
		/* Run-time mode only (DFU 1.1 A.1). */
		if (m->state != DFU_STATE_APP_IDLE) {
			rc = stall(m);
			break;
		}
		m->state = DFU_STATE_APP_DETACH;
		if (m->p->attributes & DFU_ATTR_WILL_DETACH) {
			/* bitWillDetach: it detaches and attaches by itself. */
			m->st.gone = 1;
			m->dfu_pending = 1;
		}
		rc = 0;
		break;
	default:
		rc = stall(m);
		break;
	}
	trace(m, "%s%s", what, rc == DFL_XFER_STALL ? " -> STALL" : "");
	return rc;
}

static int
model_in(void *ctx, uint8_t request, uint16_t value, uint8_t *data,
    uint16_t len, uint32_t timeout_ms)
{
	struct dfl_model *m = ctx;
	char what[64];
	int rc;

	if (request == DFU_UPLOAD)
		snprintf(what, sizeof(what), "UPLOAD %u len %u", value, len);
	else
		snprintf(what, sizeof(what), "%s", dfu_request_name(request));
	if ((rc = begin_request(m, what, len)) != 0)
		return rc;
	switch (request) {
	case DFU_GETSTATUS:
		return getstatus(m, data, len, timeout_ms); /* traces itself */
	case DFU_GETSTATE:
		if (m->state == DFU_STATE_DNBUSY || len < 1) {
			rc = stall(m);
			break;
		}
		data[0] = m->state;
		rc = 1;
		break;
	case DFU_UPLOAD:
		rc = upload(m, value, data, len);
		break;
	default:
		rc = stall(m);
		break;
	}
	if (rc == DFL_XFER_STALL)
		trace(m, "%s -> STALL", what);
	else
		trace(m, "%s -> %d", what, rc);
	return rc;
}

static int
model_set_alt(void *ctx, uint8_t alt)
{
	struct dfl_model *m = ctx;
	int rc;

	if ((rc = begin_request(m, "SET_INTERFACE", 0)) != 0)
		return rc;
	for (unsigned i = 0; i < m->p->nmems; i++)
		if (m->p->mems[i].alt == alt) {
			m->alt = alt;
			trace(m, "SET_INTERFACE %u", alt);
			return 0;
		}
	trace(m, "SET_INTERFACE %u -> STALL", alt);
	return DFL_XFER_STALL;
}

static void
model_sleep(void *ctx, uint32_t ms)
{
	struct dfl_model *m = ctx;

	m->st.time_us += (uint64_t)ms * 1000;
	trace(m, "sleep %u ms", ms);
}

static int
model_reset(void *ctx)
{
	struct dfl_model *m = ctx;

	if (m->st.gone)
		return DFL_XFER_GONE;
	m->st.gone = 1;
	if (m->state == DFU_STATE_APP_DETACH) {
		/* A reset in appDETACH enters DFU mode (DFU 1.1 A.1). */
		m->dfu_pending = 1;
		trace(m, "USB reset (to DFU mode)");
		return 0;
	}
	/* A bus reset: the device runs its firmware (DFU 1.1 A.2.8). */
	m->st.left = 1;
	trace(m, "USB reset");
	return 0;
}

static int
model_reenumerate(void *ctx, uint32_t timeout_ms)
{
	struct dfl_model *m = ctx;

	(void)timeout_ms;
	if (!m->dfu_pending) {
		trace(m, "re-enumerate -> gone");
		return DFL_XFER_GONE;
	}
	m->dfu_pending = 0;
	m->st.gone = 0;
	/* A bootloader that starts again: alt 0, its pointer at flash. */
	m->state = DFU_STATE_IDLE;
	m->status = DFU_STATUS_OK;
	m->alt = 0;
	m->pointer = m->mems[0].def->base;
	m->op = OP_NONE;
	m->error_text[0] = '\0';
	dfu_mode(m);
	trace(m, "re-enumerate -> DFU mode");
	return 0;
}

/* GET_DESCRIPTOR (string), a standard request: only the error string. */
static int
model_get_string(void *ctx, uint8_t index, char *buf, size_t len)
{
	struct dfl_model *m = ctx;
	int rc;

	if ((rc = begin_request(m, "GET_DESCRIPTOR", 0)) != 0)
		return rc;
	if (index != MODEL_ERROR_STRING || m->error_text[0] == '\0') {
		trace(m, "GET_DESCRIPTOR string %u -> STALL", index);
		return DFL_XFER_STALL;
	}
	snprintf(buf, len, "%s", m->error_text);
	trace(m, "GET_DESCRIPTOR string %u -> \"%s\"", index, m->error_text);
	return 0;
}

void
dfl_model_transport(struct dfl_model *m, struct dfl_transport *t)
{
	t->ctx = m;
	t->out = model_out;
	t->in = model_in;
	t->set_alt = model_set_alt;
	t->sleep_ms = model_sleep;
	t->reset = model_reset;
	t->get_string = model_get_string;
	t->reenumerate = model_reenumerate;
}

uint64_t
dfl_model_held_us(const struct dfl_model *m)
{
	return m->held_us;
}

void
dfl_model_set_transfer_size(struct dfl_model *m, uint16_t size)
{
	if (size == 0 || size > sizeof(m->op_data))
		return;
	m->transfer_size = size;
	m->dev.wTransferSize = size;
}
