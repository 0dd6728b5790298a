#!/bin/sh
# Builds polytls and runs every test suite, the way CI does:
#   1. installs what is missing from Debian's archive (needs root or sudo),
#   2. a warning-free (-Werror) build and `meson test` of every suite,
#   3. the same suites under valgrind (memcheck: errors and definite leaks fail),
#   4. the same suites again under AddressSanitizer + UndefinedBehaviorSanitizer,
#      failing on any report.
# Build directories: build-test/ and build-asan/ (recreated each run);
# build-modules/ and build-single/ for the module and single-backend stage.
set -eu
cd "$(dirname "$0")/.."

packages="gcc meson ninja-build pkg-config libssl-dev libgnutls28-dev libwolfssl-dev libcmocka-dev openssl valgrind clang-14 libclang-rt-14-dev curl gnutls-bin nginx-light lighttpd lighttpd-mod-wolfssl python3 ca-certificates"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "== installing:$missing"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd=sudo
  # nginx and lighttpd are test peers, started by the peers suite on
  # loopback ports: keep their packages from starting system services
  # (Debian's policy-rc.d convention), and leave no trace of that.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee "$policy" >/dev/null
    $sudo_cmd chmod 755 "$policy"
  fi
  $sudo_cmd apt-get update -qq
  status=0
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends $missing || status=$?
  [ -z "$policy" ] || $sudo_cmd rm -f "$policy"
  [ "$status" -eq 0 ] || exit "$status"
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

# docs/conformance.md is generated from a conformance run on build-test; a
# stale committed file, or any failing test in the run, fails CI.
echo "== docs/conformance.md is current (tools/conformance-report.py --check)"
if python3 tools/conformance-report.py build-test --check > "$logs/report" 2>&1; then
  passed=$((passed + 1))
  cat "$logs/report"
else
  cat "$logs/report"
  failed=$((failed + 1))
  echo "regenerate it: python3 tools/conformance-report.py build-test (and commit docs/conformance.md)"
  echo "$passed passed, $failed failed"
  exit 1
fi

echo "== the same suites under valgrind"
# peers: valgrind would wrap the Python driver, not polytls; the suite
# peers-valgrind (run in the plain stage above) puts polytls itself under valgrind.
run_suites valgrind -C build-test --timeout-multiplier 10 --no-suite peers --no-suite peers-valgrind \
  --wrapper 'valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect -q'

echo "== the same suites under ASan + UBSan"
rm -rf build-asan
meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null
ninja -C build-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suites asan -C build-asan
# ---- issue 5: backends as dlopen modules, and a single-backend build ----
# A module build (every backend a polytls-<name>.so loaded by dlopen; the
# runners assert which backend and module loaded) and an OpenSSL-only build.
echo "== module build (-Dbackends_mode=module): conformance, interop, backends"
rm -rf build-modules
meson setup build-modules -Dbackends_mode=module -Dwerror=true >/dev/null
ninja -C build-modules
run_suites modules -C build-modules --suite conformance-openssl --suite conformance-gnutls \
  --suite conformance-wolfssl --suite interop --suite backends
echo "== single-backend build (OpenSSL only): unit and conformance"
rm -rf build-single
meson setup build-single -Dgnutls=disabled -Dwolfssl=disabled -Dwerror=true >/dev/null
ninja -C build-single
run_suites single -C build-single --suite unit --suite conformance-openssl
# ---- end of issue 5 stage ----

# ---- issue 7: fuzzing ----
# Every libFuzzer target (fuzz/, clang-14 + ASan + UBSan, the library
# instrumented too) runs for a bounded time on top of its committed corpus
# and regression inputs; any crash, leak, sanitizer report or broken
# invariant fails CI. New inputs go to a scratch directory, never into
# fuzz/corpus. POLYTLS_FUZZ_SECONDS changes the time per target.
echo "== fuzz targets (libFuzzer, ASan + UBSan), ${POLYTLS_FUZZ_SECONDS:-30} s each"
rm -rf build-fuzz
CC=clang-14 meson setup build-fuzz -Dfuzzing=true -Dtests=false -Db_sanitize=address,undefined \
  -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
ninja -C build-fuzz
for t in der pem client_hello cert_request server_wire client_wire handshake_mutate api_sequence server_wire_resume client_wire_resume; do
  dirs="fuzz/corpus/$t"
  [ -d "fuzz/regress/$t" ] && dirs="$dirs fuzz/regress/$t"
  scratch=$(mktemp -d)
  status=0
  # shellcheck disable=SC2086 # $dirs is a list of directories
  build-fuzz/fuzz/fuzz-$t -max_total_time="${POLYTLS_FUZZ_SECONDS:-30}" -timeout=30 -rss_limit_mb=4096 \
    -artifact_prefix="build-fuzz/crash-$t-" "$scratch" $dirs > "$logs/fuzz-$t" 2>&1 || status=$?
  rm -rf "$scratch"
  if [ "$status" -ne 0 ]; then
    tail -60 "$logs/fuzz-$t"
    failed=$((failed + 1))
    echo "fuzz target $t failed; the input is build-fuzz/crash-$t-* (add it to fuzz/regress/$t/ once fixed)"
    echo "$passed passed, $failed failed"
    exit 1
  fi
  passed=$((passed + 1))
  echo "  fuzz-$t: $(grep -o 'Done [0-9]* runs.*' "$logs/fuzz-$t" | tail -1)"
done
# ---- end of issue 7 stage ----

echo "== all suites passed (plain, valgrind, ASan + UBSan)"
echo "$passed passed, $failed failed"
