# syntax=docker/dockerfile:1
# Generator image (GPU): a CUDA 12.8 runtime on Ubuntu 24.04 (GCC 14's libstdc++, GLIBCXX_3.4.33 >= the 3.4.32
# libtorch needs), the Azure Functions host copied from Microsoft's .NET-isolated Functions image, the .NET 10
# runtime, and Coral.Functions.Generator (isolated worker 2.x) built with TorchSharp-cuda-linux (-p:TorchBackend=cuda; libtorch CUDA 12.8 ships its own cuDNN/cuBLAS).
# Build context = repository root:  docker build -f infra/generator.Dockerfile -t <registry>/coral-generator:<tag> .
# scripts/deploy.sh builds it remotely with `az acr build`. It cannot be built on the project's dev machines
# (no container daemon; their NuGet feed lacks TorchSharp-cuda-linux) nor run without
# an NVIDIA GPU; it runs on the Container Apps serverless GPU profile.
ARG FUNCTIONS_BASE=mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0
ARG DOTNET_RUNTIME=mcr.microsoft.com/dotnet/aspnet:10.0-noble
ARG CUDA_BASE=nvidia/cuda:12.8.1-runtime-ubuntu24.04

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Coral.Functions.Generator/Coral.Functions.Generator.csproj -c Release -o /home/site/wwwroot \
        -r linux-x64 --self-contained false \
        -p:TorchBackend=cuda \
    && mkdir -p /home/site/wwwroot/models \
    && if [ -d models ]; then cp -r models/. /home/site/wwwroot/models/; fi

FROM ${FUNCTIONS_BASE} AS functions
FROM ${DOTNET_RUNTIME} AS dotnet

FROM ${CUDA_BASE}
RUN set -eux; apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libicu74 libssl3t64 tzdata zlib1g; \
    rm -rf /var/lib/apt/lists/*; \
    grep -aq 'GLIBCXX_3\.4\.32' "$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"

# .NET runtime for the isolated worker; the Functions host itself (as in Microsoft's image).
COPY --from=dotnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
COPY --from=functions /azure-functions-host /azure-functions-host

ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    HOME=/home \
    FUNCTIONS_WORKER_RUNTIME=dotnet-isolated \
    DOTNET_USE_POLLING_FILE_WATCHER=true \
    ASPNETCORE_CONTENTROOT=/azure-functions-host \
    ASPNETCORE_URLS=http://+:80 \
    AzureWebJobsFeatureFlags=EnableWorkerIndexing \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

COPY --from=build /home/site/wwwroot /home/site/wwwroot
RUN set -eux; so="$(find /home/site/wwwroot -name libLibTorchSharp.so | head -n1)"; \
    [ -n "$so" ]; ! LD_LIBRARY_PATH="$(dirname "$so")" ldd "$so" | grep -v 'libcuda\.so' | grep -q 'not found'

EXPOSE 80
# Same start as Microsoft's image: the self-contained host if present, else through the dotnet muxer.
CMD ["/bin/sh", "-c", "if [ -x /azure-functions-host/Microsoft.Azure.WebJobs.Script.WebHost ]; then exec /azure-functions-host/Microsoft.Azure.WebJobs.Script.WebHost; else exec dotnet /azure-functions-host/Microsoft.Azure.WebJobs.Script.WebHost.dll; fi"]
