#!/bin/sh
# Regenerates the committed seed corpora (fuzz/corpus/<target>/) from real
# handshakes of every built backend and the demo PKI.
#   sh fuzz/make-corpus.sh [build directory [target...]]   (default: build, all)
# With targets, only fuzz/corpus/<target>/ of those is replaced (the others
# keep their bytes, so a commit shows only what was meant to change).
# The seeds hold random values (client randoms, key shares), so a rerun
# changes their bytes, not their shape. Keep the corpus small (< 300 KB):
# libFuzzer grows its own working corpus in a scratch directory.
# The *_resume and *-resumed-* seeds carry tickets under the fuzz harness's
# fixed ticket key (fuzz_common.c): they resume for seven days at most (the
# ticket lifetime), after that the servers still decrypt and then refuse them.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift
ninja -C "$build" fuzz/make-corpus
if [ $# -eq 0 ]; then
  rm -rf fuzz/corpus
  mkdir -p fuzz/corpus
  "$build/fuzz/make-corpus" fuzz/corpus
else
  tmp=$(mktemp -d)
  "$build/fuzz/make-corpus" "$tmp"
  for t in "$@"; do
    [ -d "$tmp/$t" ] || { echo "make-corpus wrote no seeds for $t" >&2; rm -rf "$tmp"; exit 1; }
    rm -rf "fuzz/corpus/$t"
    cp -r "$tmp/$t" "fuzz/corpus/$t"
  done
  rm -rf "$tmp"
fi
du -sh fuzz/corpus
