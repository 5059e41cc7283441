#!/usr/bin/env bash
# Sets up the machine (idempotent) and runs the end-to-end demo with the parts that exist today.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
dotnet build src/Coral.Cli -c Release --no-restore -v quiet -nologo -clp:ErrorsOnly
CORAL="dotnet $ROOT/src/Coral.Cli/bin/Release/net10.0/coral.dll"

echo "== 1. The long-tailed training split (Fashion-MNIST-LT, ρ = 0.01)"
$CORAL data report --imbalance 0.01 --seed 0
