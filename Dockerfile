# syntax=docker/dockerfile:1
# Switchboard: a multi-stage build. The builder compiles the release binary (migrations are
# embedded in it); the runtime image is Debian slim with CA certificates, running as a
# non-root user. `docker build -t switchboard .` from the repository root.

# The toolchain: Cargo.toml's rust-version (tests/container.rs checks they agree).
ARG RUST_VERSION=1.94

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked --bin switchboard \
    && cp target/release/switchboard /usr/local/bin/switchboard

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin switchboard \
    && mkdir -p /etc/switchboard /var/lib/switchboard \
    && chown switchboard /var/lib/switchboard
COPY --from=builder /usr/local/bin/switchboard /usr/local/bin/switchboard
# Mount the configuration here; secrets come from SWITCHBOARD_* variables.
ENV SWITCHBOARD_CONFIG=/etc/switchboard/switchboard.toml
# A SQLite database (single replica) can live in this volume; teams use Postgres.
WORKDIR /var/lib/switchboard
USER switchboard:switchboard
EXPOSE 8080
# Asks the service's own /healthz on server.listen: no curl needed in the image.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["switchboard", "healthcheck"]
ENTRYPOINT ["switchboard"]
CMD ["serve"]
