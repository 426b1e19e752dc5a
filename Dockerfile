# syntax=docker/dockerfile:1
#
# registry-edge container image.
#
#   docker build -t registry-edge .                               # GEO_UPDATE=auto
#   docker build --build-arg GEO_UPDATE=skip -t registry-edge .   # no cloud ranges
#   docker build --build-arg GEO_UPDATE=from -t registry-edge .   # feeds from ./geo-feeds/
#
# The build needs only the npm registry (and, for GEO_UPDATE=auto, the providers'
# published IP-range feeds). See docs/deploy.md for sizes and the runtime contract.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Lockfile first so the dependency layer survives source edits. --ignore-scripts: the
# package's `prepare` script compiles TypeScript, and the sources are not here yet.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY geo ./geo
COPY config ./config
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find geo -name '*.ts' -delete \
 && find geo -type d -empty -delete

# `geo update` writes the data folder, /app/data (src/paths.ts: data/ in the package), where
# `serve` reads. It also compacts the bundled DB-IP City Lite database into
# /app/data/locations.mmdb, which the server prefers; once that exists the raw package is dead
# weight in the image. The data is read-only at run time, like the rest of /app.
#
# auto: fetch the feeds now; an offline build logs and goes on without ranges (the server
#       then routes blobs by geography only).
# skip: no geo step (no ranges; the raw DB-IP files stay).
# from: compile the feeds found in ./geo-feeds/ of the build context (offline, reproducible);
#       fails when that directory is missing, because it was asked for explicitly.
ARG GEO_UPDATE=auto
# The bind mount sees the whole build context without copying it into a layer, so a
# missing geo-feeds/ is no error for the modes that do not use it.
RUN --mount=type=bind,target=/context \
    set -eu; \
    data=/app/data; \
    mkdir -p "$data"; \
    case "$GEO_UPDATE" in \
      skip) echo "geo update skipped (GEO_UPDATE=skip)" ;; \
      from) \
        test -d /context/geo-feeds || { echo "GEO_UPDATE=from needs a geo-feeds/ directory in the build context" >&2; exit 1; }; \
        REGISTRY_EDGE_DATA_DIR="$data" node dist/bundle/cli.js geo update --from /context/geo-feeds ;; \
      auto) \
        REGISTRY_EDGE_DATA_DIR="$data" timeout 900 node dist/bundle/cli.js geo update \
          || echo "geo update failed (offline build, or a feed unreachable; see above): without a ranges file the server routes blobs by geography only" >&2 ;; \
      *) echo "GEO_UPDATE must be auto, skip or from (got '$GEO_UPDATE')" >&2; exit 1 ;; \
    esac; \
    rm -f "$data"/*.tmp; \
    if [ -s "$data/locations.mmdb" ]; then \
      echo "compact geolocation database built: dropping the raw DB-IP package (~135 MB) from the image"; \
      rm -rf /app/node_modules/@ip-location-db; \
    fi

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080
WORKDIR /app
# Owned by root and not writable by the service user: the app never writes to its own
# tree, which is what lets Kubernetes run it with a read-only root filesystem.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
COPY --from=build /app/geo ./geo
COPY --from=build /app/data ./data
# So that `kubectl exec ... -- registry-edge explain ...` works like the npm-installed CLI.
RUN printf '#!/bin/sh\nexec node /app/dist/bundle/cli.js "$@"\n' > /usr/local/bin/registry-edge \
 && chmod 0755 /usr/local/bin/registry-edge
# Numeric, so that Kubernetes' runAsNonRoot can verify it (a user name cannot be checked).
# 1000 is the `node` user of the official image.
USER 1000:1000
EXPOSE 8080 9090
# `healthcheck` reads the same config and environment as `serve` (REGISTRY_EDGE_CONFIG, PORT)
# and asks /healthz on the configured admin port, or the public /v2/ when the admin listener
# is off. A port given only on serve's command line (--admin-port) must be given here too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "/app/dist/bundle/cli.js", "healthcheck"]
ENTRYPOINT ["node", "/app/dist/bundle/cli.js"]
CMD ["serve"]
