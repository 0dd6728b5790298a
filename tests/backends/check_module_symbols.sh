#!/bin/sh
# Checks that each backend module given exports exactly its entry point and
# needs no symbol from libpolytls (drivers reach the core only through the
# services table, so a module works with any libpolytls of the same ABI).
# usage: check_module_symbols.sh NM MODULE...
set -eu
nm_tool=$1
shift
status=0
for m in "$@"; do
  exported=$($nm_tool -D --defined-only "$m" | awk '{print $3}' | grep -v '^$' | sort | tr '\n' ' ')
  if [ "$exported" != "polytls_driver_entry_v1 " ]; then
    echo "FAIL $m exports: $exported(want only polytls_driver_entry_v1)"
    status=1
  fi
  core=$($nm_tool -D --undefined-only "$m" | awk '{print $2}' | grep -E '^(polytls_|ptls_)' | tr '\n' ' ' || true)
  if [ -n "$core" ]; then
    echo "FAIL $m needs libpolytls symbols: $core"
    status=1
  fi
  if [ "$status" = 0 ]; then echo "ok $m"; fi
done
exit $status
