# wid as a container: a multi-stage build, a small runtime image, a non-root user.
#
#   docker build -t wid:dev .
#   docker run --rm -p 8443:8443 -e WID_DATABASE_URL=postgres://... wid:dev
#
# The runtime image holds the binary and CA roots only; state lives in PostgreSQL
# (WID_DATABASE_URL) and in WID_HOME (/var/lib/wid: the TLS certificate and CA, admin.json),
# which Kubernetes fills from a Secret (deploy/kubernetes/).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY crates crates
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p wid \
 && install -D -m 0755 target/release/wid /out/wid

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/wid --create-home wid
COPY --from=build /out/wid /usr/local/bin/wid
USER 10001:10001
ENV WID_HOME=/var/lib/wid \
    WID_LISTEN=0.0.0.0:8443 \
    WID_LOG_FORMAT=json
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/wid"]
CMD ["up"]
