# wecom-archive in a container: Debian 12 (glibc, which the WeCom SDK needs; Alpine's musl cannot load
# it), a non-root user, ffmpeg for voice, and the SDK library mounted at run time (it is WeCom's, not
# ours to ship). Build: docker build -t wecom-archive .   Run: see compose.yaml and README "Production".

FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source when no prebuilt binary matches
RUN apt-get update && apt-get install -y --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
# the web UI, built into dist/web by the same prepare step
COPY web ./web
# npm ci also compiles src/ into dist/ (the prepare script); then the dev tools go
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg tini ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build --chown=root:root /app /app
# the data directory (SQLite file, master key, media) belongs to the unprivileged user that runs the archive
RUN mkdir -p /var/lib/wecom-archive && chown node:node /var/lib/wecom-archive && chmod 0700 /var/lib/wecom-archive
USER node
ENV NODE_ENV=production \
    WECOM_ARCHIVE_DATA_DIR=/var/lib/wecom-archive \
    WECOM_SDK_LIB=/opt/wecom/libWeWorkFinanceSdk_C.so
VOLUME ["/var/lib/wecom-archive"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--", "/app/bin/wecom-archive"]
# inside the container the archive listens on every interface; compose publishes it on the host's loopback only
CMD ["run", "--listen", "0.0.0.0:8080"]
