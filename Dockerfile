# One image for the webhook, istio-init (meshgate init) and istio-proxy (meshgate proxy).
# Build: docker build --build-arg MESHGATE_COMMIT=$(git rev-parse HEAD) -t docker.io/meshgate/meshgate:0.1.0 .
# Without a Docker daemon, `npm run image` (scripts/image.mjs) writes the same layout as an OCI tarball: the same
# entrypoint, user, /app/dist and /app/native paths, and iptables nft+legacy. Keep the two in step.
# Platforms: linux/amd64 and linux/arm64 (`docker buildx build --platform linux/amd64,linux/arm64`).
# The data plane (meshgate-proxy, Rust): its own stage, so the Node stage needs no Rust toolchain.
FROM rust:1-bookworm AS dataplane
WORKDIR /src/dataplane
COPY dataplane ./
RUN cargo build --release --locked

FROM node:24-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc tsconfig.json ./
COPY native ./native
COPY scripts ./scripts
COPY src ./src
# `meshgate version` reports it; .git is not in the build context.
ARG MESHGATE_COMMIT=unknown
ENV MESHGATE_COMMIT=$MESHGATE_COMMIT
# Install scripts are skipped: the data plane has its own stage, and the devDependencies' native modules (the
# serverless runtimes' test packages, aws-lambda-ric) are not part of the image. The addon and the bundle are built
# explicitly; nodedir points node-gyp at the image's own headers (the .npmrc default /usr is the Debian layout).
RUN npm ci --ignore-scripts --no-audit --no-fund \
    && npx node-gyp rebuild --directory native --nodedir=/usr/local \
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
# original-dst.ts finds the addon at ../../native/build/Release from dist/chunks.
COPY --from=build /src/native/build/Release/original_dst.node ./native/build/Release/
# meshgate proxy --dataplane rust finds it on the PATH.
COPY --from=dataplane /src/dataplane/target/release/meshgate-proxy /usr/local/bin/meshgate-proxy
RUN printf '#!/bin/sh\nexec node /app/dist/meshgate.mjs "$@"\n' > /usr/local/bin/meshgate && chmod +x /usr/local/bin/meshgate
# The webhook runs as nonroot; istio-init sets runAsUser 0 and istio-proxy 1337 in the pod spec.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/meshgate.mjs"]
CMD ["webhook"]
