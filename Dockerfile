# syntax=docker/dockerfile:1
# zarc: one image with the `zarc` binary (`zarc fetcher|converter|mapper|importer|run`).
# Build: docker build -t zarc:0.1.0 .
# Both stages use Debian bookworm, the distribution the build and tests run on, so the runtime
# libraries are exactly the versions the binary was built and tested against.

FROM debian:bookworm AS build
# The build packages of scripts/install-deps.sh (tests/deploy/check_dockerfile.py keeps them in step).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libabsl-dev nlohmann-json3-dev libcurl4-openssl-dev librdkafka-dev prometheus-cpp-dev libssl-dev zlib1g-dev \
      libgtest-dev libgmock-dev googletest libbenchmark-dev libboost-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build --target zarc -j"$(nproc)" \
 && install -D -m 0755 /build/bin/zarc /out/usr/local/bin/zarc

FROM debian:bookworm-slim AS runtime
# Runtime libraries of the -dev packages above, and CA certificates for Zoom, Graph and Azure.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libcurl4 librdkafka1 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 zarc \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin zarc \
 && install -d -o 65532 -g 65532 -m 0750 /var/lib/zarc
COPY --from=build /out/ /
# Read-only root file system: the process writes only to /tmp and, in the one-machine mode,
# /var/lib/zarc (local blob store); both are volumes (emptyDir on Kubernetes).
ENV TMPDIR=/tmp
VOLUME ["/tmp", "/var/lib/zarc"]
USER 65532:65532
# gRPC 7001-7004, metrics 9401-9404, Zoom webhook 8443.
EXPOSE 7001-7004 9401-9404 8443
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/zarc"]
# zarc run binds loopback unless told otherwise; in a container the ports must be reachable
# (plaintext: zarc says so at start; see docs/deploy.md to secure the control plane).
CMD ["run", "--listen.address=0.0.0.0"]
