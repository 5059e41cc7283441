#!/usr/bin/env bash
# Deploys CoralFunctions to one Azure resource group: infrastructure (infra/main.bicep), the two function images
# (built in Azure with `az acr build`, real Functions worker packages), and the Event Grid subscription.
#
#   scripts/deploy.sh -g <resource-group> [-l <region>] [-s <subscription>] [--gpu t4|a100] [--tag <image-tag>]
#                     [--skip-images] [--openai]
#
# Needs: Azure CLI >= 2.79 with the containerapp extension, `az login` as someone who can create resources AND
# role assignments in the resource group (Owner, or Contributor + Role Based Access Control Administrator).
# Nothing here handles a storage key, SAS or password: every app authenticates with its managed identity.
# The one host-managed secret, the scorer's blobs_extension system key, goes straight from the running app into
# the Event Grid subscription through mode-600 temp files that are deleted on exit.
#
# This script cannot run on the project's dev machines or in CI (no Azure access there); see docs/operations.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RG=""
LOCATION=""
SUBSCRIPTION=""
GPU="t4"
TAG=""
SKIP_IMAGES=0
OPENAI=false
DEPLOYMENT="coral-infra"

say() { echo "[deploy] $*" >&2; }
die() { echo "[deploy] ERROR: $*" >&2; exit 1; }
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -g|--resource-group) RG="$2"; shift 2 ;;
    -l|--location) LOCATION="$2"; shift 2 ;;
    -s|--subscription) SUBSCRIPTION="$2"; shift 2 ;;
    --gpu) GPU="$2"; shift 2 ;;
    --tag) TAG="$2"; shift 2 ;;
    --skip-images) SKIP_IMAGES=1; shift ;;
    --openai) OPENAI=true; shift ;;
    -h|--help) usage ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[ -n "$RG" ] || usage

case "$GPU" in
  t4) GPU_PROFILE="Consumption-GPU-NC8as-T4" ;;
  a100) GPU_PROFILE="Consumption-GPU-NC24-A100" ;;
  *) die "--gpu must be t4 or a100" ;;
esac

command -v az >/dev/null || die "Azure CLI (az) not found"
az account show >/dev/null 2>&1 || die "not logged in: run 'az login'"
[ -z "$SUBSCRIPTION" ] || az account set --subscription "$SUBSCRIPTION"
az extension add --name containerapp --upgrade --only-show-errors >/dev/null
for ns in Microsoft.App Microsoft.ContainerRegistry Microsoft.EventGrid Microsoft.OperationalInsights Microsoft.Insights; do
  az provider register --namespace "$ns" --only-show-errors >/dev/null
done

# Images are built from the committed tree (git archive of HEAD), never from the working directory: that keeps
# local build output, runs/ and artifacts/ (gigabytes) out of the upload, and makes the tag mean one commit.
CONTEXT_PATHS=(src build models infra host.json Directory.Build.props Directory.Packages.props)
git rev-parse --verify -q HEAD >/dev/null || die "not a git checkout: images are built from the committed tree"
[ -n "$TAG" ] || TAG="$(git rev-parse --short=12 HEAD)"
if [ -n "$(git status --porcelain -- "${CONTEXT_PATHS[@]}")" ]; then
  say "WARNING: uncommitted changes under ${CONTEXT_PATHS[*]} are NOT in the images (built from HEAD $(git rev-parse --short HEAD))"
fi

if ! az group show -n "$RG" >/dev/null 2>&1; then
  [ -n "$LOCATION" ] || die "resource group $RG does not exist: pass -l <region> to create it"
  say "creating resource group $RG in $LOCATION"
  az group create -n "$RG" -l "$LOCATION" --tags app=coral-functions -o none
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
chmod 700 "$TMP"

# infra/main.bicepparam -> JSON, so it can be combined with the per-pass overrides below.
az bicep build-params --file infra/main.bicepparam --outfile "$TMP/main.parameters.json" --only-show-errors

# deploy <extra --parameters args...>: one idempotent pass of infra/main.bicep; outputs land in $TMP/outputs.json.
deploy() {
  az deployment group create -g "$RG" -n "$DEPLOYMENT" \
    --template-file infra/main.bicep \
    --parameters "@$TMP/main.parameters.json" \
    --parameters gpuProfileType="$GPU_PROFILE" deployOpenAi="$OPENAI" "$@" \
    --query properties.outputs -o json > "$TMP/outputs.json"
}
# outputs <name>...: sets shell variables OUT_<name> from the last pass's outputs (one python call).
outputs() {
  eval "$(python3 - "$TMP/outputs.json" "$@" <<'PY'
import json, shlex, sys
o = json.load(open(sys.argv[1]))
for name in sys.argv[2:]:
    print(f"OUT_{name}={shlex.quote(str(o[name]['value']))}")
PY
)"
}

# Keep whatever the apps run now on the infrastructure pass, so a redeploy never rolls them back to the placeholder.
current_image() {
  az containerapp show -g "$RG" -n "$1" --query 'properties.template.containers[0].image' -o tsv 2>/dev/null || true
}
previous_output() {
  az deployment group show -g "$RG" -n "$DEPLOYMENT" --query "properties.outputs.$1.value" -o tsv 2>/dev/null || true
}
image_args=()
for app in scorer generator; do
  name="$(previous_output "${app}AppName")"
  img=""
  [ -z "$name" ] || img="$(current_image "$name")"
  [ -z "$img" ] || image_args+=("${app}Image=$img")
done

say "pass 1/3: infrastructure (storage, identities, roles, registry, environment, apps)"
deploy "${image_args[@]}"
outputs registryName registryLoginServer scorerAppName generatorAppName scorerFunctionName
REGISTRY="$OUT_registryName"
LOGIN_SERVER="$OUT_registryLoginServer"
SCORER_APP="$OUT_scorerAppName"
GENERATOR_APP="$OUT_generatorAppName"
FUNCTION_NAME="$OUT_scorerFunctionName"

SCORER_IMAGE="$LOGIN_SERVER/coral-scorer:$TAG"
GENERATOR_IMAGE="$LOGIN_SERVER/coral-generator:$TAG"
if [ "$SKIP_IMAGES" -eq 0 ]; then
  CONTEXT="$TMP/context"
  mkdir -p "$CONTEXT"
  git archive --format=tar HEAD -- "${CONTEXT_PATHS[@]}" | tar -x -C "$CONTEXT"
  say "building $SCORER_IMAGE in ACR (real Functions worker packages, TorchSharp CPU)"
  az acr build -r "$REGISTRY" -t "coral-scorer:$TAG" -f infra/scorer.Dockerfile --timeout 3600 -o none "$CONTEXT"
  say "building $GENERATOR_IMAGE in ACR (real Functions worker packages, TorchSharp CUDA)"
  az acr build -r "$REGISTRY" -t "coral-generator:$TAG" -f infra/generator.Dockerfile --timeout 7200 -o none "$CONTEXT"
else
  SCORER_IMAGE="$(current_image "$SCORER_APP")"
  GENERATOR_IMAGE="$(current_image "$GENERATOR_APP")"
  say "--skip-images: keeping $SCORER_IMAGE and $GENERATOR_IMAGE"
fi

say "pass 2/3: apps on the new images"
deploy scorerImage="$SCORER_IMAGE" generatorImage="$GENERATOR_IMAGE"

# The Event Grid subscription needs the scorer running: Event Grid validates the webhook when it is created,
# and the URL carries the host's blobs_extension system key, which exists only once the host has started.
say "waiting for the scorer's function '$FUNCTION_NAME' to be indexed"
for i in $(seq 1 60); do
  # Names may come back as "<app>/<function>": match the last segment.
  if az containerapp function list -g "$RG" -n "$SCORER_APP" --query "[].name" -o tsv 2>/dev/null | grep -Eq "(^|/)${FUNCTION_NAME}\$"; then
    break
  fi
  [ "$i" -lt 60 ] || die "function $FUNCTION_NAME did not appear in $SCORER_APP within 10 minutes (check its logs)"
  sleep 10
done

# The key goes from the CLI's JSON straight into a mode-600 parameters file; it is never printed or put on a
# command line. (The response shape of this preview command group is read defensively.)
umask 077
az containerapp function keys list -g "$RG" -n "$SCORER_APP" --key-type systemKey -o json > "$TMP/keys.json" \
  || die "could not list the scorer's system keys (az containerapp function keys list)"
python3 - "$TMP/keys.json" "$TMP/key.parameters.json" <<'PY' || die "no blobs_extension system key on the scorer yet"
import json, sys
def find(node):
    if isinstance(node, dict):
        if node.get("name") == "blobs_extension" and isinstance(node.get("value"), str):
            return node["value"]
        if isinstance(node.get("blobs_extension"), str):
            return node["blobs_extension"]
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = find(child)
        if found:
            return found
    return None
key = find(json.load(open(sys.argv[1])))
if not key:
    sys.exit(1)
json.dump({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
           "contentVersion": "1.0.0.0",
           "parameters": {"scorerBlobsExtensionKey": {"value": key}}}, open(sys.argv[2], "w"))
PY
rm -f "$TMP/keys.json"

say "pass 3/3: Event Grid subscription (BlobCreated under incoming/ -> scorer)"
deploy scorerImage="$SCORER_IMAGE" generatorImage="$GENERATOR_IMAGE" "@$TMP/key.parameters.json"

say "done"
python3 - "$TMP/outputs.json" <<'PY'
import json, sys
for k, v in json.load(open(sys.argv[1])).items():
    print(f"  {k:32} {v['value']}")
PY
