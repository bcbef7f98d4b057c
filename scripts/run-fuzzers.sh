#!/usr/bin/env bash
# Runs every libFuzzer harness for SECONDS from the committed seeds (plus the fixtures they
# grew from) and reports executions per harness. A crash leaves its input in
# BUILD/crashes/<target>/ and fails the run: fix it, then commit the input under
# tests/fuzz/regressions/<target>/ so `make test` replays it for good.
#   scripts/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]     (default: every target)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=$1
SECONDS_EACH=$2
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors torch_zip pickle config image fewshot)
status=0
summary=()
for t in "${targets[@]}"; do
  work="$BUILD/corpus/$t"
  crashes="$BUILD/crashes/$t"
  mkdir -p "$work" "$crashes"
  seeds=("tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && seeds+=("tests/fuzz/regressions/$t")
  case $t in
    safetensors) seeds+=(tests/data/models/tiny64-masktoken) ;;
    torch_zip) seeds+=(tests/data/models/tiny224-base-bin tests/data/models/tiny96-msn-original) ;;
    image) seeds+=(tests/data/images) ;;
  esac
  log="$BUILD/fuzz-$t.log"
  stamp=$(mktemp)  # only inputs written by this run count as findings
  echo "== fuzz_$t for ${SECONDS_EACH}s"
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "$BUILD/bin/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=30 -rss_limit_mb=6144 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$work" "${seeds[@]}" > "$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  found=$(find "$crashes" -type f -newer "$stamp" | wc -l)
  rm -f "$stamp"
  summary+=("fuzz_$t: ${runs:-?} executions in ${SECONDS_EACH}s, findings: $found")
  if [ $rc -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    tail -40 "$log"
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
