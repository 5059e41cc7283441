#!/usr/bin/env bash
# The main job: set up the machine (idempotent), then run the whole pipeline locally on real data.
#   1. start a private, in-memory Azurite on free loopback ports;
#   2. upload real Fashion-MNIST test images to incoming/ as field data (DEMO_IMAGES, default 300);
#   3. run the local host (`coral serve`) with the shipped checkpoints until every image is scored and
#      every flagged image has a synthetic batch, a manifest and a review page;
#   4. review: list the batches and approve every batch that is not all-inconsistent into curated/;
#   5. retrain: pull curated/ and fine-tune the classifier with and without the approved images, tail accuracy side by side;
#   6. export the manifests and self-contained review pages to runs/demo/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
IMAGES="${DEMO_IMAGES:-300}"
OUT="${DEMO_OUT:-$ROOT/runs/demo}"
# Two cores: one torch thread per operator leaves the other for Azurite and the host.
export CORAL_TORCH_THREADS="${CORAL_TORCH_THREADS:-1}"

bash scripts/setup.sh
dotnet build src/Coral.Cli -c Release --no-restore -v quiet -nologo -clp:ErrorsOnly
CORAL_DLL="$ROOT/src/Coral.Cli/bin/Release/net10.0/coral.dll"
coral() { dotnet "$CORAL_DLL" "$@"; }

WORK="$(mktemp -d)"
AZURITE_PID=""
cleanup() {
  # SIGTERM, not SIGINT: a non-interactive shell starts background jobs with SIGINT ignored. `coral azurite`
  # stops Azurite and exits on it; it would also stop by itself once this script is gone.
  if [ -n "$AZURITE_PID" ]; then kill -TERM "$AZURITE_PID" 2>/dev/null || true; wait "$AZURITE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== 1. Storage: a private in-memory Azurite on free loopback ports"
# Started directly (not through the shell function) so that $! is coral's own pid.
dotnet "$CORAL_DLL" azurite > "$WORK/azurite.out" 2>&1 &
AZURITE_PID=$!
# `coral azurite` prints its connection string once Azurite is listening; wait for that line (bounded).
for _ in $(seq 1 600); do
  grep -q '^CONNECTION_STRING=' "$WORK/azurite.out" && break
  kill -0 "$AZURITE_PID" 2>/dev/null || { cat "$WORK/azurite.out" >&2; echo "Azurite did not start" >&2; exit 1; }
  sleep 0.1
done
grep -q '^CONNECTION_STRING=' "$WORK/azurite.out" || { cat "$WORK/azurite.out" >&2; echo "Azurite did not report a connection within 60 s" >&2; exit 1; }
head -n 1 "$WORK/azurite.out"
export CoralStorage
CoralStorage="$(sed -n 's/^CONNECTION_STRING=//p' "$WORK/azurite.out")"

echo
echo "== 2-3. Upload $IMAGES Fashion-MNIST test images to incoming/ and run the local host until idle"
echo "   (shipped models: models/classifier scores, models/diffusion + Longtail Guidance generates)"
rm -rf "$OUT"
echo "   (one log line per flagged image, generated batch and host event; unflagged scores go to scores/ quietly)"
coral serve --upload-fashion-mnist "$IMAGES" --until-idle --export "$OUT" 2>&1 \
  | { grep --line-buffered -v -F ': Scored (signal' || true; }

echo
echo "== 4. Review"
coral review list > "$WORK/batches.tsv"
{ printf 'job\tsource\tpredicted\tsignal\timages\tpending\tapproved\trejected\tinconsistent\tnote\n'; head -n 20 "$WORK/batches.tsv"; } | column -t -s $'\t'
[ "$(wc -l < "$WORK/batches.tsv")" -le 20 ] || echo "... $(wc -l < "$WORK/batches.tsv") batches in all"
# A batch whose every image is inconsistent with its target class is not worth approving: approve the others.
OK_JOBS=$(awk -F '\t' '$10 == "ok" { print $1 }' "$WORK/batches.tsv")
if [ -n "$OK_JOBS" ]; then
  echo "approving $(echo "$OK_JOBS" | wc -l) batches, confirming each image's target class (a real reviewer looks at the page"
  echo "and corrects classes with --set INDEX=CLASS or --class NAME; only confirmed labels reach curated/<class>/):"
  for job in $OK_JOBS; do coral review approve "$job" --reviewer demo --confirm-targets; done
elif [ "$(wc -l < "$WORK/batches.tsv")" -gt 0 ]; then
  echo "every batch is all-inconsistent: nothing worth approving"
else
  echo "no image was flagged, so there is nothing to review"
fi

echo
echo "== 5. Retrain: the approved images feed the next classifier"
if [ -n "$OK_JOBS" ]; then
  coral review pull-curated --to "$OUT/curated"
  # The same fine-tune of the deployed classifier with and without them, with the logit-adjusted loss (the strongest
  # recipe measured in docs/results/ltg.md); a full bundle is `coral train classifier --add-images ... --logit-adjust 1`.
  coral eval retrain --add-images "$OUT/curated" --epochs "${DEMO_RETRAIN_EPOCHS:-1}" --logit-adjust 1 --out "$OUT/retrain.json"
else
  echo "nothing approved, nothing to retrain on"
fi
echo
echo "== 6. Where to look"
echo "manifests and review pages: $OUT"
ls "$OUT" | grep '\.html$' | head -n 5 | sed "s|^|  $OUT/|"
echo "open one in a browser; each page is self-contained (images inline)."
