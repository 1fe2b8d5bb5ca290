#!/bin/sh
# Output safety for every tool that writes a file: a full disk (a file
# size limit), an unwritable directory, an output that names an input, and
# a run ended by SIGINT, SIGTERM or SIGHUP in the middle of a large write.
# In each case: exit status, no output and no temporary file, an existing
# output left as it was, inputs untouched.  Also: a hostile size field in
# a small file costs no memory (ulimit -v).
. "$(dirname "$0")/lib.sh"

DFUSPLIT=$BUILD/bin/dfusplit
ELF2DFU=$BUILD/bin/elf2dfu
HEX2DFU=$BUILD/bin/hex2dfu

# Inputs of about 200 KiB for each tool, and a previous output "old.dfu".
make_inputs() {
	head -c 200000 /dev/zero | tr '\0' '\132' >in.bin
	"$BIN2DFU" -a 0x08000000:in.bin -o in.dfu &&
	python3 -c '
data = open("in.bin", "rb").read()
out = []
for off in range(0, len(data), 16):
    addr = 0x08000000 + off
    if off % 0x10000 == 0:
        up = addr >> 16
        rec = bytes([2, 0, 0, 4, up >> 8, up & 0xff])
        out.append(":" + rec.hex().upper() + "%02X" % (-sum(rec) & 0xff))
    chunk = data[off:off + 16]
    rec = bytes([len(chunk), (addr >> 8) & 0xff, addr & 0xff, 0]) + chunk
    out.append(":" + rec.hex().upper() + "%02X" % (-sum(rec) & 0xff))
out.append(":00000001FF")
open("in.hex", "w").write("\n".join(out) + "\n")
# An ELF32 (ARM, little endian) with one PT_LOAD of the same bytes.
import struct
eh = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack("<HHIIIIIHHHHHH",
    2, 40, 1, 0x08000000, 52, 0, 0, 52, 32, 1, 0, 0, 0)
ph = struct.pack("<IIIIIIII", 1, 84, 0x08000000, 0x08000000, len(data),
    len(data), 5, 4)
open("in.elf", "wb").write(eh + ph + data)
' && printf 'previous output\n' >old.dfu || fail "making inputs failed"
}

# The commands that write, each as: name, then the command with OUT where
# the output goes.
COMMANDS='bin2dfu|$BIN2DFU -a 0x08000000:in.bin -o OUT
bin2dfu --plain|$BIN2DFU --plain -o OUT in.bin
dfusplit edit|$DFUSPLIT --set-vid 1209 -o OUT in.dfu
dfusplit merge|$DFUSPLIT --merge -o OUT in.dfu
dfusplit add-suffix|$DFUSPLIT --add-suffix -o OUT in.bin
elf2dfu|$ELF2DFU -o OUT in.elf
hex2dfu|$HEX2DFU -o OUT in.hex'

# for_each_command FUNCTION [ARG]: call FUNCTION NAME COMMAND-WITH-OUT
# [ARG] per line, in this shell (not a pipeline's subshell, where a
# failure would be lost).
for_each_command() {
	while IFS='|' read -r name cmd; do
		"$1" "$name" "$cmd" ${2:+"$2"}
	done <<EOF
$COMMANDS
EOF
}

# The directory holds only the inputs and old.dfu, which is unchanged.
expect_untouched() {
	expect_dir_only . in.bin in.dfu in.elf in.hex old.dfu
	[ "$(cat old.dfu)" = "previous output" ] || fail "$1: old.dfu was changed"
}

size_limit() {
	name=$1
	eval "set -- $(echo "$2" | sed 's/OUT/old.dfu/')"
	# A 32 KiB file size limit: the output cannot be written whole.
	# SIGXFSZ is set to its default action (ending the program) first,
	# as a tool must not rely on the caller ignoring it.
	run python3 -c '
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (32768, 32768))
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
	expect_status 1
	expect_stderr_contains "File too large"
	expect_untouched "$name"
}
case_begin "a full disk (ulimit -f): an error, no partial output, the old one kept"
cd "$TMP" && make_inputs
for_each_command size_limit
case_end

unwritable() {
	dir=$3
	eval "set -- $(echo "$2" | sed "s|OUT|$dir/out.dfu|")"
	run "$@"
	expect_status 1
	expect_stderr_contains "$dir/out.dfu: cannot create output: "
}
case_begin "an unwritable directory"
cd "$TMP" && make_inputs
if [ "$(id -u)" = 0 ]; then
	# root writes anywhere a mode allows; sysfs refuses new files even to
	# root.
	dir=/sys
else
	mkdir ro && chmod 555 ro && dir=ro
fi
for_each_command unwritable "$dir"
[ "$dir" != ro ] || rmdir ro
expect_untouched unwritable
case_end

same_as_input() {
	in=$(echo "$2" | tr ' ' '\n' | grep -o 'in\.[a-z]*$' | tail -n 1)
	cp "$in" keep
	eval "set -- $(echo "$2" | sed "s|OUT|$in|")"
	run "$@"
	expect_status 1
	expect_stderr_contains "$in"
	expect_same_bytes "$in" keep
	rm keep
}
case_begin "an output that names an input is refused, the input kept"
cd "$TMP" && make_inputs
for_each_command same_as_input
expect_untouched same-as-input
case_end

# interrupt SIGNAL NAME COMMAND: start the command on a 1 GiB input, wait
# until it writes its temporary output (unnamed, or .old.dfu.XXXXXX where
# the filesystem has no O_TMPFILE) and 1 MiB has gone into it, stop it
# there, send SIGNAL, let it go on.  It must die by that signal and leave
# nothing behind, even after SIGKILL, which no program can catch.
INTERRUPT='
import os, signal, subprocess, sys, time
sig = getattr(signal, sys.argv[1])
def writing(pid):
    d = "/proc/%d/fd" % pid
    try:
        fds = [os.readlink(d + "/" + n) for n in os.listdir(d)]
        with open("/proc/%d/io" % pid) as f:
            io = dict(l.split(": ") for l in f.read().splitlines())
    except OSError:
        return False
    here = os.getcwd() + "/"
    return int(io["wchar"]) >= 1 << 20 and any(t.startswith(here) and
        (t.endswith(" (deleted)") or
         os.path.basename(t).startswith(".old.dfu.")) for t in fds)
# As from a terminal: a test started in the background or under nohup
# inherits these signals ignored, and a tool rightly keeps them so.
def defaults():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
p = subprocess.Popen(sys.argv[2:], preexec_fn=defaults)
deadline = time.time() + 30
while time.time() < deadline and p.poll() is None:
    if writing(p.pid):
        break
    time.sleep(0.002)
if p.poll() is not None:
    print("finished before it could be interrupted, status", p.returncode)
    sys.exit(3)
p.send_signal(signal.SIGSTOP)
p.send_signal(sig)
p.send_signal(signal.SIGCONT)
rc = p.wait()
print("status", rc)
sys.exit(0 if rc == -sig else 4)
'
case_begin "SIGINT, SIGTERM, SIGHUP and SIGKILL during a large write leave no file behind"
cd "$TMP"
truncate -s 1G big.bin
printf 'previous output\n' >old.dfu
for s in SIGINT SIGTERM SIGHUP SIGKILL; do
	run python3 -c "$INTERRUPT" $s "$BIN2DFU" -a 0x08000000:big.bin -o old.dfu
	expect_status 0
	expect_dir_only . big.bin old.dfu
	[ "$(cat old.dfu)" = "previous output" ] || fail "$s: old.dfu changed"
done
"$BIN2DFU" -a 0x08000000:big.bin -o big.dfu || fail "bin2dfu big.dfu"
for s in SIGTERM SIGKILL; do
	run python3 -c "$INTERRUPT" $s "$DFUSPLIT" --set-vid 1209 -o old.dfu big.dfu
	expect_status 0
	expect_dir_only . big.bin big.dfu old.dfu
	[ "$(cat old.dfu)" = "previous output" ] || fail "dfusplit $s: old.dfu changed"
done
case_end

case_begin "a 4 GiB size field in a small file is refused within 64 MiB of memory"
if [ -n "$SAN_FLAGS" ]; then
	skip_case "AddressSanitizer reserves more address space than ulimit -v allows"
else
	n=0
	for f in "$FIXTURES"/invalid/dfuse-*size*.dfu; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		run sh -c 'ulimit -v 65536 && exec "$@"' sh "$DFUINFO" "$f"
		expect_status 1
		expect_stdout_contains "error:"
		grep -qi "memory" "$ERR" && fail "$f: out of memory"
	done
	[ $n -ge 5 ] || fail "only $n size fixtures"
fi
case_end

finish
