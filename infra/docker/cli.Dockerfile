# The icdiff command line: embedded audits, the demo, and cluster clients (--cluster).
#   docker build -f infra/docker/cli.Dockerfile -t icdiff/cli .
#   docker run --rm -v $PWD/out:/out icdiff/cli demo --out /out
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Icdiff.Cli -c Release -o /out

FROM mcr.microsoft.com/dotnet/aspnet:10.0
RUN apt-get update && apt-get install -y --no-install-recommends libturbojpeg0 libfontconfig1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out .
USER 10001
ENTRYPOINT ["dotnet", "icdiff.dll"]
