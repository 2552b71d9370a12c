# The Ficus gateway (and, with another command, the example services and the reporter).
#
# Built in two stages: the first compiles the TypeScript sources to dist/ (`npm run build`), the
# second installs the production dependencies from the lockfile and runs the compiled JavaScript,
# so nothing of Ficus is compiled when a container starts. Measured by `npm run bench:start`
# (process start to a 200 from /readyz, median of 7 cold starts, Node 24, example config): 0.62 s
# compiled against 1.15 s through tsx. tsx stays a runtime dependency only to load the user's
# routes.config.ts.
# The base image names the release of .node-version.
FROM node:24.22.3-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
RUN npm run build

FROM node:24.22.3-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY bin bin
COPY examples examples
COPY routes.config.ts ./
# `ficus/cli` and a config's `import ... from 'ficus'` resolve to the compiled dist/.
ENV NODE_OPTIONS=--conditions=ficus-dist \
    FICUS_DATA_DIR=/var/lib/ficus
# The outbox, the authority cache and the embedded store live in the data directory: owned by the
# unprivileged user the process runs as (the image's `node`, uid 1000).
RUN mkdir -p /var/lib/ficus && chown node:node /var/lib/ficus
USER node
EXPOSE 8080 9090
# Ready = config loaded, first authority snapshot in place, listening (the reporter and the example
# services override this in docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.ADMIN_PORT ?? 9090}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/ficus.js", "start"]
