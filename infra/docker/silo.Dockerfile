# The silo image. CPU build by default; --build-arg ONNX_GPU=true swaps in ONNX Runtime's CUDA build
# (Microsoft.ML.OnnxRuntime.Gpu, from a feed that serves it) and RUNTIME_BASE a CUDA runtime, for the worker silos.
#   docker build -f infra/docker/silo.Dockerfile -t icdiff/silo .
#   docker build -f infra/docker/silo.Dockerfile --build-arg ONNX_GPU=true \
#     --build-arg RUNTIME_BASE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 -t icdiff/silo-gpu .
# Published self-contained, so any base with glibc serves (a CUDA base has no .NET).
ARG RUNTIME_BASE=debian:bookworm-slim
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG ONNX_GPU=false
WORKDIR /src
COPY . .
RUN dotnet publish src/Icdiff.Silo -c Release -r linux-x64 --self-contained -o /out -p:IcdiffOnnxGpu=${ONNX_GPU}

FROM ${RUNTIME_BASE}
# libturbojpeg0: the SIMD JPEG decoder the pipeline prefers; libfontconfig1: SkiaSharp's native library needs it;
# libicu: globalization for .NET.
RUN apt-get update && apt-get install -y --no-install-recommends libturbojpeg0 libfontconfig1 libicu-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/icdiff && chown 10001 /var/lib/icdiff
WORKDIR /app
COPY --from=build /out .
ENV Icdiff__Silo__DataDirectory=/var/lib/icdiff \
    Icdiff__Cluster__HttpAddress=0.0.0.0 \
    DOTNET_gcServer=1
EXPOSE 11111 30000 8080
USER 10001
ENTRYPOINT ["/app/icdiff-silo"]
