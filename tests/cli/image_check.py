#!/usr/bin/env python3
"""image_check.py - the tests' one decoder of DfuSe and plain DFU files,
written from UM0391 and DFU 1.1 appendix B without libdfufile, and checks
of the files elf2dfu and hex2dfu make against independent tools and of
what dfuflash left in a flash image.

  dfuse DFU [DIR]      print every header field, one line per record, sound
                       or not (a wrong size is printed, not an error); with
                       DIR, write element t.e's data to DIR/tTeE.bin
  plain DFU [OUT]      print the payload size and the suffix; with OUT,
                       write the payload there
  elements DFU [DIR]   decode the DfuSe file (UM0391 layout, DFU 1.1
                       suffix), check its sizes and CRC, print one line
                       "element T.E 0xADDRESS SIZE" per element (and
                       "target T alt=A name=N"), write element data to
                       DIR/tTeE.bin
  holds STATE BASE DFU every element of DFU is in STATE, a flash image
                       whose first byte is at address BASE
  flash STATE OLD BASE PAGES DFU
                       STATE is OLD (flash images from BASE) with the
                       pages PAGES ("[(offset, size), ...]") erased to
                       0xff, then every element of DFU written
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
import ast
import os
import re
import struct
import subprocess
import sys
import zlib


def die(msg):
    print("image_check: " + msg)
    sys.exit(1)


def parse_suffix(d):
    """The DFU 1.1 suffix (appendix B) of file bytes d, as a dict."""
    bcd, pid, vid, bcddfu, sig, blen, crc = struct.unpack("<4H3sBI", d[-16:])
    return dict(bcdDevice=bcd, idProduct=pid, idVendor=vid, bcdDFU=bcddfu,
                sig=sig, bLength=blen, crc=crc,
                crc_ok=crc == (~zlib.crc32(d[:-4]) & 0xffffffff))


def parse_dfuse(d):
    """Every record of a DfuSe file (UM0391), as found: nothing is checked
    but what the reading needs.  A record cut short ends the reading, with
    what came before it kept and "error" set."""
    f = dict(targets=[], error=None)
    try:
        sig, ver, isize, ntg = struct.unpack_from("<5sBIB", d, 0)
        f.update(sig=sig, bVersion=ver, DFUImageSize=isize, bTargets=ntg)
        off = 11
        for _ in range(ntg):
            tsig, alt, named, name, tsize, nel = struct.unpack_from(
                "<6sBI255sII", d, off)
            t = dict(offset=off, sig=tsig, alt=alt, named=named, name=name,
                     dwTargetSize=tsize, dwNbElements=nel, elements=[],
                     taken=None)
            f["targets"].append(t)
            off += 274
            start = off
            for _ in range(nel):
                addr, size = struct.unpack_from("<II", d, off)
                t["elements"].append(dict(offset=off, address=addr,
                                          size=size,
                                          data=d[off + 8:off + 8 + size]))
                off += 8 + size
            t["taken"] = off - start
        f["end"] = off
    except struct.error as e:
        f["error"] = "record cut short: %s" % e
    return f


def decode(path):
    """The targets of a DfuSe file that must be sound: sizes, signatures
    and CRC right.  [(alt, name, [(address, data)])]."""
    d = open(path, "rb").read()
    if len(d) < 11 + 16 or d[:5] != b"DfuSe":
        die("%s: not a DfuSe file" % path)
    if not parse_suffix(d)["crc_ok"]:
        die("%s: bad CRC" % path)
    if d[-8:-5] != b"UFD":
        die("%s: no suffix" % path)
    f = parse_dfuse(d)
    if f["error"]:
        die("%s: %s" % (path, f["error"]))
    if f["DFUImageSize"] != len(d) - 16:
        die("%s: DFUImageSize %d" % (path, f["DFUImageSize"]))
    targets = []
    for n, t in enumerate(f["targets"]):
        if t["sig"] != b"Target":
            die("%s: target %d signature" % (path, n))
        if t["taken"] != t["dwTargetSize"]:
            die("%s: target %d size" % (path, n))
        name = t["name"]
        name = name[:name.index(b"\0")].decode() if t["named"] else ""
        targets.append((t["alt"], name, [(e["address"], e["data"])
                                         for e in t["elements"]]))
    if f["end"] != len(d) - 16:
        die("%s: %d leftover bytes" % (path, len(d) - 16 - f["end"]))
    return targets


def print_suffix(d):
    s = parse_suffix(d)
    print("suffix bcdDevice=0x%04x idProduct=0x%04x idVendor=0x%04x "
          "bcdDFU=0x%04x sig=%s bLength=%d crc=%s" % (
              s["bcdDevice"], s["idProduct"], s["idVendor"], s["bcdDFU"],
              s["sig"].decode("latin1"), s["bLength"],
              "ok" if s["crc_ok"] else "bad"))


def dfuse(path, outdir=None):
    """Print every header field of a DfuSe file, one line per record,
    sound or not; with outdir, write element t.e's data to outdir/tTeE.bin."""
    d = open(path, "rb").read()
    f = parse_dfuse(d)
    if "sig" in f:
        print("prefix sig=%s bVersion=%d DFUImageSize=%s bTargets=%d" % (
            f["sig"].decode("latin1"), f["bVersion"],
            "size-16" if f["DFUImageSize"] == len(d) - 16
            else str(f["DFUImageSize"]), f["bTargets"]))
    for n, t in enumerate(f["targets"]):
        name = t["name"]
        nul = name.index(b"\0")
        pad = "zero" if name[nul:] == bytes(255 - nul) else "junk"
        print("target %d offset=%d sig=%s alt=%d named=%d name=%s namepad=%s "
              "dwTargetSize=%d dwNbElements=%d" % (
                  n, t["offset"], t["sig"].decode("latin1"), t["alt"],
                  t["named"], name[:nul].decode("latin1"), pad,
                  t["dwTargetSize"], t["dwNbElements"]))
        for e, el in enumerate(t["elements"]):
            print("element %d.%d offset=%d address=0x%08x size=%d" % (
                n, e, el["offset"], el["address"], el["size"]))
            if outdir:
                with open(os.path.join(outdir, "t%de%d.bin" % (n, e)),
                          "wb") as out:
                    out.write(el["data"])
        if t["taken"] is not None and t["taken"] != t["dwTargetSize"]:
            print("error: target %d: dwTargetSize %d, elements take %d" % (
                n, t["dwTargetSize"], t["taken"]))
    if f["error"]:
        die("%s: %s" % (path, f["error"]))
    print("end offset=%d leftover=%d" % (f["end"], len(d) - 16 - f["end"]))
    print_suffix(d)


def plain(path, out=None):
    """Print the payload size and the suffix of a plain DFU file; with
    out, write the payload there."""
    d = open(path, "rb").read()
    print("payload size=%d" % (len(d) - 16))
    if out:
        with open(out, "wb") as f:
            f.write(d[:-16])
    print_suffix(d)


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


def holds(state, base, dfu):
    """Every element of the DfuSe file dfu is in state, a flash image
    whose first byte is at base."""
    st = open(state, "rb").read()
    for _, _, elems in decode(dfu):
        for addr, data in elems:
            if st[addr - base:addr - base + len(data)] != data:
                die("%s: element at 0x%08x differs in %s" % (dfu, addr,
                                                            state))


def flash(state, old, base, pages, dfu):
    """state is old (both flash images from base) with the pages given
    ([(offset, size)]) erased to 0xff and then every element of the
    DfuSe file dfu written."""
    st, want = open(state, "rb").read(), bytearray(open(old, "rb").read())
    for p, n in pages:
        want[p:p + n] = b"\xff" * n
    for _, _, elems in decode(dfu):
        for addr, data in elems:
            want[addr - base:addr - base + len(data)] = data
    if len(st) != len(want):
        die("%s: size %d, expected %d" % (state, len(st), len(want)))
    for i in range(len(st)):
        if st[i] != want[i]:
            die("%s: first difference at 0x%08x: 0x%02x, expected 0x%02x"
                % (state, base + i, st[i], want[i]))


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
    if cmd == "dfuse":
        dfuse(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "plain":
        plain(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "holds":
        holds(sys.argv[2], int(sys.argv[3], 0), sys.argv[4])
    elif cmd == "flash":
        flash(sys.argv[2], sys.argv[3], int(sys.argv[4], 0),
              ast.literal_eval(sys.argv[5]), sys.argv[6])
    elif cmd == "elements":
        elements(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "objcopy":
        objcopy(sys.argv[2], sys.argv[3],
                int(sys.argv[4], 0) if len(sys.argv) > 4 else None)
    elif cmd == "srec":
        srec(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        die("unknown command " + cmd)
