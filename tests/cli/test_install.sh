# make install / uninstall: every variable honoured, the installed header,
# library and pkg-config file build a working program, uninstall leaves
# nothing behind.
. "$(dirname "$0")/lib.sh"

MAKE=${MAKE:-make}
D=$_tmproot/dest

case_begin "install puts every file under DESTDIR and the chosen directories"
run $MAKE -s -C "$ROOT" B="$BUILD" install DESTDIR="$D" PREFIX=/opt/dfu \
	BINDIR=/opt/dfu/tools LIBDIR=/opt/dfu/lib64 MANDIR=/opt/dfu/man
expect_status 0
for f in tools/bin2dfu tools/dfuinfo lib64/libdfufile.a lib64/libdfufile.so \
	lib64/libdfufile.so.0 include/dfufile.h lib64/pkgconfig/libdfufile.pc \
	man/man1/bin2dfu.1 man/man1/dfuinfo.1 man/man3/libdfufile.3 \
	man/man3/dfu_conv_new.3 lib/udev/rules.d/70-dfuflash.rules \
	share/dfutools/schemas/dfuinfo-report.schema.json; do
	expect_file_exists "$D/opt/dfu/$f"
done
[ -x "$D/opt/dfu/tools/dfuinfo" ] || fail "dfuinfo not executable"
case_end

case_begin "the library holds no front end, and only the library's headers are installed"
# frontend/ (cli.c: printing, exiting) is linked into the tools only.
run sh -c "nm -g --defined-only '$D/opt/dfu/lib64/libdfufile.a' | grep -c ' T cli_'"
expect_stdout_line "0"
expect_dir_only "$D/opt/dfu/include" dfuconv.h dfufile.h dfuimage.h dfulayout.h \
	dfuplan.h
case_end

case_begin "the installed pkg-config file describes the installed library"
run env PKG_CONFIG_PATH="$D/opt/dfu/lib64/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D" \
	pkg-config --modversion libdfufile
expect_status 0
want=$(sed -n 's/^#define DFUFILE_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/common/dfufile.h")
expect_stdout_line "$want"
case_end

case_begin "a program builds against the installed header and static library"
cat >"$_tmproot/prog.c" <<'C'
#include <dfuconv.h>
#include <dfufile.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	struct dfu_file *f = dfu_file_new();
	struct dfu_conv *c = dfu_conv_new();
	int ok = f != NULL && dfu_crc_update(DFU_CRC_INIT, "123456789", 9) == 0x340bc6d9u &&
	    strcmp(dfufile_version(), DFUFILE_VERSION_STRING) == 0 &&
	    c != NULL && dfu_conv_add_target(c, 0, NULL, NULL) == 0 &&
	    dfu_conv_check(c) == 0;
	dfu_conv_free(c);
	dfu_file_free(f);
	puts(ok ? "ok" : "bad");
	return !ok;
}
C
cflags=$(PKG_CONFIG_PATH="$D/opt/dfu/lib64/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D" \
	pkg-config --cflags libdfufile)
# What the static library needs from the .pc file (the library itself is
# named by path, so that the shared one next to it is not picked).
libs=$(PKG_CONFIG_PATH="$D/opt/dfu/lib64/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D" \
	pkg-config --static --libs libdfufile | sed 's/-ldfufile//')
run cc $SAN_FLAGS -o "$TMP/prog" "$_tmproot/prog.c" $cflags -static-libgcc \
	"$D/opt/dfu/lib64/libdfufile.a" $libs
expect_status 0
run "$TMP/prog"
expect_status 0
expect_stdout_line "ok"
case_end

case_begin "the shared library carries its soname and runs"
run sh -c "readelf -d '$D/opt/dfu/lib64/libdfufile.so' | grep SONAME"
expect_stdout_contains "[libdfufile.so.0]"
run cc $SAN_FLAGS -o "$TMP/prog-shared" "$_tmproot/prog.c" $cflags -L"$D/opt/dfu/lib64" -ldfufile
expect_status 0
run env LD_LIBRARY_PATH="$D/opt/dfu/lib64" "$TMP/prog-shared"
expect_status 0
expect_stdout_line "ok"
case_end

case_begin "the udev rules go to UDEVRULESDIR, and uninstall removes them from there"
run $MAKE -s -C "$ROOT" B="$BUILD" install DESTDIR="$_tmproot/udev" \
	UDEVRULESDIR=/etc/udev/rules.d
expect_status 0
expect_same_bytes "$_tmproot/udev/etc/udev/rules.d/70-dfuflash.rules" \
	"$ROOT/dfuflash/70-dfuflash.rules"
run $MAKE -s -C "$ROOT" B="$BUILD" uninstall DESTDIR="$_tmproot/udev" \
	UDEVRULESDIR=/etc/udev/rules.d
expect_status 0
expect_no_file "$_tmproot/udev/etc/udev/rules.d/70-dfuflash.rules"
case_end

case_begin "the bash completion goes to bash-completion's directory under PREFIX, one name per tool"
want=$(pkg-config --define-variable=prefix=/opt/dfu --variable=completionsdir \
	bash-completion 2>/dev/null)
want=${want:-/opt/dfu/share/bash-completion/completions}
expect_same_bytes "$D$want/dfuflash" "$ROOT/completions/dfutools"
for t in bin2dfu dfuinfo dfusplit elf2dfu hex2dfu; do
	[ "$(readlink "$D$want/$t")" = dfuflash ] ||
	    fail "$want/$t is not a link to dfuflash"
done
run $MAKE -s -C "$ROOT" B="$BUILD" install DESTDIR="$_tmproot/bc" \
	BASHCOMPLETIONDIR=/etc/bash_completion.d
expect_status 0
expect_same_bytes "$_tmproot/bc/etc/bash_completion.d/dfuflash" \
	"$ROOT/completions/dfutools"
run $MAKE -s -C "$ROOT" B="$BUILD" uninstall DESTDIR="$_tmproot/bc" \
	BASHCOMPLETIONDIR=/etc/bash_completion.d
expect_status 0
expect_dir_only "$_tmproot/bc/etc/bash_completion.d"
if ! pkg-config --exists bash-completion; then
	# Without bash-completion: under DATADIR.
	run $MAKE -s -C "$ROOT" B="$BUILD" install DESTDIR="$_tmproot/dd" \
		DATADIR=/data
	expect_status 0
	expect_file_exists "$_tmproot/dd/data/bash-completion/completions/dfuinfo"
fi
case_end

case_begin "the JSON Schemas go to DATADIR/dfutools/schemas"
run $MAKE -s -C "$ROOT" B="$BUILD" install DESTDIR="$_tmproot/data" \
	DATADIR=/opt/data
expect_status 0
for f in dfuinfo-report device-list dfusplit-manifest dfuflash-event \
    dfuflash-record; do
	expect_same_bytes "$_tmproot/data/opt/data/dfutools/schemas/$f.schema.json" \
	    "$ROOT/schemas/$f.schema.json"
done
run $MAKE -s -C "$ROOT" B="$BUILD" uninstall DESTDIR="$_tmproot/data" \
	DATADIR=/opt/data
expect_status 0
expect_no_file "$_tmproot/data/opt/data/dfutools/schemas/dfuinfo-report.schema.json"
case_end

case_begin "uninstall removes every installed file"
run $MAKE -s -C "$ROOT" B="$BUILD" uninstall DESTDIR="$D" PREFIX=/opt/dfu \
	BINDIR=/opt/dfu/tools LIBDIR=/opt/dfu/lib64 MANDIR=/opt/dfu/man
expect_status 0
left=$(find "$D" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"
case_end

finish
