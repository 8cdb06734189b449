# syntax=docker/dockerfile:1
#
# Multi-stage build of nexus: a Rust builder, then a slim Debian runtime.
#   docker build -t nexus .
#   docker compose up            (see docker-compose.yml: nexus + PostgreSQL + Redis)

FROM rust:1-bookworm AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev libpq-dev libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the crate registry and the build tree between builds;
# the binary is copied out of the cached target dir before the mount goes away.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    if [ -f Cargo.lock ]; then locked=--locked; else locked=; fi \
    && cargo build --release $locked --bin nexus \
    && mkdir -p /out \
    && cp target/release/nexus /out/nexus \
    && if [ -d static ]; then cp -r static /out/static; else mkdir /out/static; fi

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl3 libpq5 libsqlite3-0 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/nexus --shell /usr/sbin/nologin nexus \
    && mkdir -p /var/lib/nexus \
    && chown nexus:nexus /var/lib/nexus
COPY --from=builder /out/nexus /usr/local/bin/nexus
COPY --from=builder /out/static /usr/share/nexus/static
# MALLOC_ARENA_MAX=2: glibc otherwise keeps per-thread arenas after bursts of key generation
# (RSS after 1,500 realm creations: ~155 MB with the default, ~86 MB with 2; idle is ~20 MB either way).
ENV NEXUS_BIND=0.0.0.0:8080 \
    MALLOC_ARENA_MAX=2 \
    NEXUS_DATA_DIR=/var/lib/nexus \
    RUST_LOG=info
USER nexus
WORKDIR /var/lib/nexus
VOLUME ["/var/lib/nexus"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=5 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready >/dev/null || exit 1
CMD ["nexus", "serve"]
