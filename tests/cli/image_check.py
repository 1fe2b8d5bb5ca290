#!/usr/bin/env python3
"""image_check.py - check DfuSe files made by elf2dfu and hex2dfu against
independent tools, without libdfufile.

  elements DFU [DIR]   decode the DfuSe file (UM0391 layout, DFU 1.1
                       suffix), check its sizes and CRC, print one line
                       "element T.E 0xADDRESS SIZE" per element (and
                       "target T alt=A name=N"), write element data to
                       DIR/tTeE.bin
  objcopy ELF DFU [FILL]
                       the bytes of every section that `objcopy -O binary
                       -j SECTION` writes, at the load address `objdump -h`
                       gives, equal the bytes of the elements at the same
                       addresses; every element byte is a section byte,
                       or FILL (a gap filled by --gap-fill)
  srec INPUT FORMAT DFU
                       the same against srecord: srec_info's data ranges
                       equal the elements, and `srec_cat -crop` of each
                       element's range gives its bytes (FORMAT: -intel or
                       -motorola)
Exit status 0 if all is well, 1 with a message otherwise.
"""
import os
import re
import struct
import subprocess
import sys
import zlib


def die(msg):
    print("image_check: " + msg)
    sys.exit(1)


def decode(path):
    d = open(path, "rb").read()
    if len(d) < 11 + 16 or d[:5] != b"DfuSe":
        die("%s: not a DfuSe file" % path)
    crc = struct.unpack_from("<I", d, len(d) - 4)[0]
    if crc != (~zlib.crc32(d[:-4]) & 0xffffffff):
        die("%s: bad CRC" % path)
    if d[-8:-5] != b"UFD":
        die("%s: no suffix" % path)
    _, ver, isize, ntg = struct.unpack_from("<5sBIB", d, 0)
    if isize != len(d) - 16:
        die("%s: DFUImageSize %d" % (path, isize))
    off, targets = 11, []
    for t in range(ntg):
        sig, alt, named, name, tsize, nel = struct.unpack_from(
            "<6sBI255sII", d, off)
        if sig != b"Target":
            die("%s: target %d signature" % (path, t))
        off += 274
        start, elems = off, []
        for e in range(nel):
            addr, size = struct.unpack_from("<II", d, off)
            off += 8
            elems.append((addr, d[off:off + size]))
            off += size
        if off - start != tsize:
            die("%s: target %d size" % (path, t))
        name = name[:name.index(b"\0")].decode() if named else ""
        targets.append((alt, name, elems))
    if off != len(d) - 16:
        die("%s: %d leftover bytes" % (path, len(d) - 16 - off))
    return targets


def elements(path, outdir=None):
    for t, (alt, name, elems) in enumerate(decode(path)):
        print("target %d alt=%d name=%s" % (t, alt, name))
        for e, (addr, data) in enumerate(elems):
            print("element %d.%d 0x%08x %d" % (t, e, addr, len(data)))
            if outdir:
                with open(os.path.join(outdir, "t%de%d.bin" % (t, e)),
                          "wb") as f:
                    f.write(data)


def byte_map(path):
    m = {}
    for _, _, elems in decode(path):
        for addr, data in elems:
            for i, b in enumerate(data):
                if addr + i in m:
                    die("0x%08x in two elements" % (addr + i))
                m[addr + i] = b
    return m


def objcopy(elf, dfu, fill=None):
    objdump = os.environ.get("OBJDUMP", "arm-none-eabi-objdump")
    objcopy_ = os.environ.get("OBJCOPY", "arm-none-eabi-objcopy")
    out = subprocess.run([objdump, "-h", elf], check=True,
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    want = {}
    nsec = 0
    for i, line in enumerate(lines):
        f = line.split()
        if len(f) < 7 or not re.fullmatch(r"\d+", f[0]):
            continue
        flags = lines[i + 1]
        if "ALLOC" not in flags or "LOAD" not in flags or \
                "CONTENTS" not in flags:
            continue
        name, size, lma = f[1], int(f[2], 16), int(f[4], 16)
        if size == 0:
            continue
        tmp = dfu + ".objcopy.bin"
        subprocess.run([objcopy_, "-O", "binary", "-j", name, elf, tmp],
                       check=True)
        data = open(tmp, "rb").read()
        os.unlink(tmp)
        if len(data) != size:
            die("%s: objcopy wrote %d bytes, objdump says %d" % (
                name, len(data), size))
        for k, b in enumerate(data):
            want[lma + k] = b
        nsec += 1
    got = byte_map(dfu)
    for a, b in want.items():
        if a not in got:
            die("0x%08x (a section byte) is in no element" % a)
        if got[a] != b:
            die("0x%08x: element 0x%02x, objcopy 0x%02x" % (a, got[a], b))
    for a, b in got.items():
        if a not in want and (fill is None or b != fill):
            die("0x%08x: element byte 0x%02x is in no section" % (a, b))
    print("objcopy: %d sections, %d bytes, all equal" % (nsec, len(want)))


def srec(src, fmt, dfu):
    info = subprocess.run(["srec_info", src, fmt], check=True,
                          capture_output=True, text=True).stdout
    ranges = [tuple(int(x, 16) for x in m) for m in
              re.findall(r"([0-9A-F]{4,8}) - ([0-9A-F]{4,8})", info)]
    elems = [(addr, data) for _, _, el in decode(dfu) for addr, data in el]
    got = sorted((a, a + len(d) - 1) for a, d in elems)
    if sorted(ranges) != got:
        die("srec_info ranges %s, elements %s" % (
            ["%08x-%08x" % r for r in ranges], ["%08x-%08x" % r for r in got]))
    for addr, data in elems:
        b = subprocess.run(["srec_cat", src, fmt, "-crop", hex(addr),
                            hex(addr + len(data)), "-offset", hex(-addr),
                            "-o", "-", "-binary"], check=True,
                           capture_output=True).stdout
        if b != data:
            die("element at 0x%08x differs from srec_cat" % addr)
    print("srec_cat: %d ranges, all equal" % len(elems))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "elements":
        elements(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "objcopy":
        objcopy(sys.argv[2], sys.argv[3],
                int(sys.argv[4], 0) if len(sys.argv) > 4 else None)
    elif cmd == "srec":
        srec(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        die("unknown command " + cmd)
