#!/usr/bin/env bash
# Sets up the machine (idempotent) and runs every test in the solution.
# Ends with one summary line: "Tests: N passed, N failed, N skipped".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh || { echo "setup failed" >&2; exit 1; }

LOG="$(mktemp)"
RESULTS="$(mktemp -d)"
trap 'rm -rf "$LOG" "$RESULTS"' EXIT
dotnet build CoralFunctions.sln --no-restore -v quiet -nologo -clp:ErrorsOnly || { echo "build failed" >&2; exit 1; }
dotnet test CoralFunctions.sln --no-build -nologo -v quiet --logger trx --results-directory "$RESULTS" "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}

# The quiet console names a failed test but not why: print each failure's message from the TRX reports.
for trx in "$RESULTS"/*.trx; do
  [ -e "$trx" ] || continue
  awk '
    /<UnitTestResult / && /outcome="Failed"/ { failed = 1; match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11) }
    failed && /<Message>/ { inmsg = 1; print "FAILED " name ":" }
    inmsg { line = $0; gsub(/<\/?Message>/, "", line); print "  " line }
    inmsg && /<\/Message>/ { inmsg = 0; failed = 0 }
  ' "$trx"
done

# Sum the per-assembly lines, e.g. "Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total: ...".
read -r passed failed skipped < <(awk '
  /(Passed|Failed)! *- *Failed:/ {
    for (i = 1; i <= NF; i++) {
      gsub(",", "", $(i+1))
      if ($i == "Failed:")  f += $(i+1)
      if ($i == "Passed:")  p += $(i+1)
      if ($i == "Skipped:") s += $(i+1)
    }
  }
  END { printf "%d %d %d\n", p, f, s }' "$LOG")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi   # a crashed test host counts as a failure
echo "Tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$rc"
