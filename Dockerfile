# syntax=docker/dockerfile:1
# One image for the three apps and the migration; the command picks one:
#   docker run wa-gateway api-gateway | session-worker | webhook-dispatcher | migrate

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc nx.json prisma.config.ts tsconfig.base.json tsconfig.build.json tsconfig.eslint.json ./
COPY apps apps
COPY libs libs
COPY tools tools
COPY prisma prisma
# Fixes to dependencies, applied by the install step (postinstall: patch-package); see patches/README.md.
COPY patches patches
# The install command the README uses everywhere: it installs exactly what the lockfile pins.
RUN npm install --no-audit --no-fund \
  && npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && find apps libs tools -name '*.spec.ts' -delete

FROM node:20-bookworm-slim AS runtime
# MALLOC_ARENA_MAX=2: glibc otherwise gives each of Node's threads (libuv pool, V8 platform) an arena of
# its own; two hold what they need and keep each app about 50 MiB smaller at rest (npm run bench, idle).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    NODE_OPTIONS=--enable-source-maps \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/apps apps
COPY --from=build /app/libs libs
COPY --from=build /app/tools tools
COPY --from=build /app/prisma prisma
COPY docker/entrypoint.sh docker/entrypoint.sh
# The image's files belong to root and are read-only to the app, which runs as the unprivileged `node` user
# (uid 1000) and writes nothing but stdout: the root filesystem can be mounted read-only.
USER node
EXPOSE 3000 3001 3002
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["api-gateway"]
