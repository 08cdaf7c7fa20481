#!/usr/bin/env bash
# Fails if cpprestsdk is back (issue 15): a zarc binary in BIN_DIR that links a cpprest library,
# a source file under SOURCE_DIR that includes a cpprest/ header, or a CMake file that names the
# cpprestsdk package or its target.
# Usage: check-no-cpprest.sh BIN_DIR SOURCE_DIR
set -uo pipefail
bin_dir=$1
source_dir=$2
failed=0

checked=0
for bin in "$bin_dir"/zarc "$bin_dir"/zarc-*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  checked=$((checked + 1))
  if libs=$(ldd "$bin" | grep -i cpprest); then
    echo "FAIL: $bin links cpprestsdk: $libs"
    failed=1
  fi
done
if [ "$checked" -eq 0 ]; then
  echo "FAIL: no zarc binaries in $bin_dir to check"
  failed=1
fi

excluded=(--exclude-dir='build*' --exclude-dir=tools --exclude-dir=node_modules --exclude-dir=.git)
if hits=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]cpprest/' "${excluded[@]}" \
            --include='*.h' --include='*.hpp' --include='*.cc' --include='*.cpp' "$source_dir"); then
  echo "FAIL: sources include cpprestsdk headers:"
  echo "$hits"
  failed=1
fi
if hits=$(grep -rnE 'find_package\(cpprestsdk|cpprestsdk::' "${excluded[@]}" \
            --include='CMakeLists.txt' --include='*.cmake' "$source_dir"); then
  echo "FAIL: the build still names cpprestsdk:"
  echo "$hits"
  failed=1
fi

[ "$failed" -eq 0 ] && echo "no cpprestsdk: $checked binaries and the sources under $source_dir checked"
exit "$failed"
