# termux-packages recipe for codex-lite (packages/codex-lite/build.sh in a termux-packages tree).
# A platform-independent package: $PREFIX/bin/codex-lite (a $PREFIX/bin/sh launcher that runs
# $PREFIX/bin/python3, so no Python minor version appears in any path) and $PREFIX/lib/codex-lite
# with codex_lite/ and vendor/ (prompt-toolkit, wcwidth, urllib3, tomli: Termux has no packages
# for them). The wheels and their sha256 come from packaging/vendor.txt, the one place for pins.
# Without a termux-packages checkout: termux/build-deb.sh builds the same .deb with dpkg-deb.
TERMUX_PKG_HOMEPAGE=https://github.com/codex-lite/codex-lite
TERMUX_PKG_DESCRIPTION="Small coding agent for routers, phones and SSH boxes"
TERMUX_PKG_LICENSE="Apache-2.0"
TERMUX_PKG_MAINTAINER="@codex-lite"
TERMUX_PKG_VERSION="0.1.0"
TERMUX_PKG_SRCURL=git+https://github.com/codex-lite/codex-lite
TERMUX_PKG_GIT_BRANCH=v${TERMUX_PKG_VERSION}
TERMUX_PKG_DEPENDS="python, python-psutil"
TERMUX_PKG_PLATFORM_INDEPENDENT=true
TERMUX_PKG_BUILD_IN_SRC=true
TERMUX_PKG_AUTO_UPDATE=false

# Download every pinned wheel with termux_download (checks the sha256) into the cache.
termux_step_post_get_source() {
	local name sha url
	while read -r name sha url; do
		termux_download "$url" "$TERMUX_PKG_CACHEDIR/${url##*/}" "$sha"
	done < <(sed -n 's/^\([A-Za-z0-9_.-]*\)==[^ ]* *--hash=sha256:\([0-9a-f]*\) *# *url: *\([^ ]*\).*$/\1 \2 \3/p' \
		"$TERMUX_PKG_SRCDIR/packaging/vendor.txt")
}

termux_step_make() {
	:
}

termux_step_make_install() {
	python3 "$TERMUX_PKG_SRCDIR/packaging/pkgbuild.py" tree --flavour termux \
		--prefix "$TERMUX_PREFIX" --out / --wheels "$TERMUX_PKG_CACHEDIR" \
		--work "$TERMUX_PKG_BUILDDIR/pkgwork"
}

termux_step_post_massage() {
	# Bytecode is made on the device by postinst, for the python3 that is installed there.
	find . -path '*/__pycache__*' -delete
}

termux_step_create_debscripts() {
	python3 "$TERMUX_PKG_SRCDIR/packaging/pkgbuild.py" debscripts --prefix "$TERMUX_PREFIX" --out .
}
