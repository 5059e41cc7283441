# syntax=docker/dockerfile:1
# Scorer image (CPU): the Azure Functions host for .NET isolated + Coral.Functions.Scorer (isolated worker 2.x).
# It scores with the classifier's exported graph (models/classifier/scorer.onnx) in ONNX Runtime: no libtorch, so
# no libstdc++ fix either, and a publish output of ~60 MB instead of ~544 MB (docs/results/classifier.md).
# Build context = repository root:  docker build -f infra/scorer.Dockerfile -t <registry>/coral-scorer:<tag> .
# scripts/deploy.sh builds it remotely with `az acr build`. It cannot be built on the project's dev machines:
# no container daemon (the app itself builds there: `dotnet build src/Coral.Functions.Scorer`).
ARG FUNCTIONS_BASE=mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Coral.Functions.Scorer/Coral.Functions.Scorer.csproj -c Release -o /home/site/wwwroot \
        -r linux-x64 --self-contained false \
    && mkdir -p /home/site/wwwroot/models \
    && if [ -d models ]; then cp -r models/. /home/site/wwwroot/models/; fi

FROM ${FUNCTIONS_BASE}
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=dotnet-isolated

COPY --from=build /home/site/wwwroot /home/site/wwwroot
# Fail now, not at the first blob, if ONNX Runtime's native library or the exported scoring graph is missing.
RUN set -eux; so="$(find /home/site/wwwroot -name libonnxruntime.so | head -n1)"; \
    [ -n "$so" ]; ! ldd "$so" | grep -q 'not found'; \
    [ -f /home/site/wwwroot/models/classifier/scorer.onnx ]
