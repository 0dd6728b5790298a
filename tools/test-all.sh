#!/bin/sh
# Builds polytls and runs every test suite, the way CI does:
#   1. installs what is missing from Debian's archive (needs root or sudo),
#   2. a warning-free (-Werror) build and `meson test` of every suite,
#   3. the same suites under valgrind (memcheck: errors and definite leaks fail),
#   4. the same suites again under AddressSanitizer + UndefinedBehaviorSanitizer,
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

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0
failed=0
# Runs `meson test` with the given arguments, shows its output, and adds its
# counts to the totals; stops at the first failing run.
run_suites() {
  name=$1
  shift
  status=0
  meson test "$@" --print-errorlogs > "$logs/$name" 2>&1 || status=$?
  cat "$logs/$name"
  ok=$(awk '/^Ok:/ {print $2}' "$logs/$name")
  bad=$(awk '/^Fail:/ {print $2}' "$logs/$name")
  passed=$((passed + ${ok:-0}))
  failed=$((failed + ${bad:-0}))
  if [ "$status" -ne 0 ]; then
    echo "$passed passed, $failed failed"
    exit "$status"
  fi
}

echo "== build (werror) and all suites"
rm -rf build-test
meson setup build-test -Dwerror=true >/dev/null
ninja -C build-test
run_suites plain -C build-test

echo "== exported symbols: only polytls_*"
bad=$(nm -D --defined-only build-test/libpolytls.so | awk '{print $3}' | grep -v '^polytls_' | grep -v '^POLYTLS_0$' || true)
if [ -n "$bad" ]; then echo "libpolytls.so exports non-polytls symbols:"; echo "$bad"; exit 1; fi

echo "== the same suites under valgrind"
run_suites valgrind -C build-test --timeout-multiplier 10 \
  --wrapper 'valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect -q'

echo "== the same suites under ASan + UBSan"
rm -rf build-asan
meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null
ninja -C build-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suites asan -C build-asan
echo "== all suites passed (plain, valgrind, ASan + UBSan)"
echo "$passed passed, $failed failed"
