#!/bin/sh
# Builds polytls and runs every test suite, the way CI does:
#   1. installs what is missing from Debian's archive (needs root or sudo),
#   2. a warning-free (-Werror) build and `meson test` of every suite,
#   3. the same suites again under AddressSanitizer + UndefinedBehaviorSanitizer,
#      failing on any report.
# Build directories: build-test/ and build-asan/ (recreated each run).
set -eu
cd "$(dirname "$0")/.."

packages="gcc meson ninja-build pkg-config libssl-dev libgnutls28-dev libwolfssl-dev libcmocka-dev openssl valgrind"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "== installing:$missing"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd=sudo
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends $missing
fi

echo "== build (werror) and all suites"
rm -rf build-test
meson setup build-test -Dwerror=true >/dev/null
ninja -C build-test
meson test -C build-test --print-errorlogs

echo "== exported symbols: only polytls_*"
bad=$(nm -D --defined-only build-test/libpolytls.so | awk '{print $3}' | grep -v '^polytls_' | grep -v '^POLYTLS_0$' || true)
if [ -n "$bad" ]; then echo "libpolytls.so exports non-polytls symbols:"; echo "$bad"; exit 1; fi

echo "== the same suites under ASan + UBSan"
rm -rf build-asan
meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C build-asan --print-errorlogs
echo "== all suites passed (plain and sanitized)"
