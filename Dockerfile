# One image for the webhook, istio-init (meshgate init) and istio-proxy (meshgate proxy).
# Build: docker build --build-arg MESHGATE_COMMIT=$(git rev-parse HEAD) -t docker.io/meshgate/meshgate:0.1.0 .
# Without a Docker daemon, `npm run image` (scripts/image.mjs) writes the same layout as an OCI tarball: the same
# entrypoint, user, /app/dist path, /usr/local/bin/meshgate-proxy, and iptables nft+legacy. Keep the two in step.
# Platforms: linux/amd64 and linux/arm64 (`docker buildx build --platform linux/amd64,linux/arm64`).
# The data plane (meshgate-proxy, Rust): its own stage, so the Node stage needs no Rust toolchain.
FROM rust:1-bookworm AS dataplane
WORKDIR /src/dataplane
COPY dataplane ./
RUN cargo build --release --locked

FROM node:24-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
# `meshgate version` reports it; .git is not in the build context.
ARG MESHGATE_COMMIT=unknown
ENV MESHGATE_COMMIT=$MESHGATE_COMMIT
# Install scripts are skipped: the data plane has its own stage. The bundle is built explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund \
    && node scripts/bundle.mjs

FROM node:24-bookworm-slim
# iptables for meshgate init (both nft and legacy back ends; init detects which the node uses).
# jemalloc for the webhook (the chart's webhook.ldPreload names the link made here): glibc's malloc kept ~40 MB of
# freed TLS and request memory resident after a burst, jemalloc returns it (docs/webhook-hardening.md, Memory).
RUN apt-get update && apt-get install -y --no-install-recommends iptables ca-certificates libjemalloc2 \
    && ln -s /usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/dist ./dist
# meshgate proxy runs it from the PATH.
COPY --from=dataplane /src/dataplane/target/release/meshgate-proxy /usr/local/bin/meshgate-proxy
RUN printf '#!/bin/sh\nexec node /app/dist/meshgate.mjs "$@"\n' > /usr/local/bin/meshgate && chmod +x /usr/local/bin/meshgate
# The webhook runs as nonroot; istio-init sets runAsUser 0 and istio-proxy 1337 in the pod spec.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/meshgate.mjs"]
CMD ["webhook"]
