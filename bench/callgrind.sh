#!/bin/sh
# Deterministic instruction counts, raw library vs polytls (issue 9).
#
#   sh bench/callgrind.sh BUILD_DIR [BACKEND...]
#
# For every handshake and bulk workload and every backend, runs
#   valgrind --tool=callgrind --toggle-collect=bench_measured \
#       BUILD_DIR/bench/bench --callgrind WORKLOAD BACKEND raw|polytls --iterations N
# and prints instructions per handshake / per record (client + server) and
# the ratio polytls / raw. Counts do not depend on the machine's load.
set -eu
build=${1:?usage: callgrind.sh BUILD_DIR [BACKEND...]}
shift
backends=${*:-openssl gnutls wolfssl}
bench=$build/bench/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count() { # workload backend kind iterations [extra] -> instructions per iteration, or n/a
    out=$tmp/$1.$2.$3.out
    if valgrind --tool=callgrind --toggle-collect=bench_measured --callgrind-out-file="$out" \
        "$bench" --callgrind "$1" "$2" "$3" --iterations "$4" ${5:-} >"$tmp/log" 2>&1 &&
        grep -q '^totals:' "$out"; then
        echo $(( $(grep '^totals:' "$out" | awk '{print $2}') / $4 ))
    else
        echo n/a
    fi
}

printf '%-8s %-15s %-12s %14s %14s %8s\n' backend workload unit raw polytls ratio
for b in $backends; do
    for w in hs13-ecdsa:20:Ir/handshake hs13-rsa:10:Ir/handshake hs12-ecdsa:20:Ir/handshake \
             resume13:20:Ir/handshake bulk16k:200:Ir/record bulk1k:500:Ir/record bulk64:2000:Ir/record \
             bulk16k-lowmem:200:Ir/record bulk64-lowmem:2000:Ir/record; do
        name=${w%%:*}; rest=${w#*:}; n=${rest%%:*}; unit=${rest#*:}
        r=$(count "$name" "$b" raw "$n")
        p=$(count "$name" "$b" polytls "$n")
        if [ "$r" != n/a ] && [ "$p" != n/a ]; then
            ratio=$(awk -v p="$p" -v r="$r" 'BEGIN { printf "%.3f", p / r }')
        else
            ratio=n/a
        fi
        printf '%-8s %-15s %-12s %14s %14s %8s\n' "$b" "$name" "$unit" "$r" "$p" "$ratio"
    done
done
