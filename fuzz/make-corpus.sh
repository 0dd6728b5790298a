#!/bin/sh
# Regenerates the committed seed corpora (fuzz/corpus/<target>/) from real
# handshakes of every built backend and the demo PKI.
#   sh fuzz/make-corpus.sh [build directory]     (default: build)
# The seeds hold random values (client randoms, key shares), so a rerun
# changes their bytes, not their shape. Keep the corpus small (< 300 KB):
# libFuzzer grows its own working corpus in a scratch directory.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
ninja -C "$build" fuzz/make-corpus
rm -rf fuzz/corpus
mkdir -p fuzz/corpus
"$build/fuzz/make-corpus" fuzz/corpus
du -sh fuzz/corpus
