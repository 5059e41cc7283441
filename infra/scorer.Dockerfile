# syntax=docker/dockerfile:1
# Scorer image (CPU): the Azure Functions host for .NET isolated + Coral.Functions.Scorer (isolated worker 2.x)
# built with the TorchSharp CPU backend (-p:TorchBackend=cpu).
# Build context = repository root:  docker build -f infra/scorer.Dockerfile -t <registry>/coral-scorer:<tag> .
# scripts/deploy.sh builds it remotely with `az acr build`. It cannot be built on the project's dev machines:
# no container daemon (the app itself builds there: `dotnet build src/Coral.Functions.Scorer`).
ARG FUNCTIONS_BASE=mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Coral.Functions.Scorer/Coral.Functions.Scorer.csproj -c Release -o /home/site/wwwroot \
        -r linux-x64 --self-contained false \
        -p:TorchBackend=cpu \
    && mkdir -p /home/site/wwwroot/models \
    && if [ -d models ]; then cp -r models/. /home/site/wwwroot/models/; fi

FROM ${FUNCTIONS_BASE}
# libLibTorchSharp.so (TorchSharp 0.107) needs GLIBCXX_3.4.32, i.e. GCC 13's libstdc++. A Debian 12 base has
# GCC 12's (up to 3.4.30): then take libstdc++6 from Debian 13, pinned low so nothing else moves (the same fix
# scripts/setup.sh applies to dev machines), using the base image's own Debian mirror. Fail the build if the
# symbol is still missing: better here than a "GLIBCXX_3.4.32 not found" at the first blob.
RUN set -eux; \
    lib="$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"; \
    if ! grep -aq 'GLIBCXX_3\.4\.32' "$lib"; then \
        . /etc/os-release; \
        [ "${ID:-}" = debian ] || { echo "base image lacks GLIBCXX_3.4.32 and is not Debian (${PRETTY_NAME:-?})" >&2; exit 1; }; \
        mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"; \
        [ -n "$mirror" ] || mirror="$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)"; \
        printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
            > /etc/apt/sources.list.d/trixie.sources; \
        printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > /etc/apt/preferences.d/trixie; \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t trixie libstdc++6; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    lib="$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"; \
    grep -aq 'GLIBCXX_3\.4\.32' "$lib"

ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=dotnet-isolated

COPY --from=build /home/site/wwwroot /home/site/wwwroot
# Fail now, not at the first blob, if the published libtorch cannot resolve its C++ runtime.
RUN set -eux; so="$(find /home/site/wwwroot -name libLibTorchSharp.so | head -n1)"; \
    [ -n "$so" ]; ! LD_LIBRARY_PATH="$(dirname "$so")" ldd "$so" | grep -q 'not found'
