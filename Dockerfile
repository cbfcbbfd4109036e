# One image for every pivot role; the role is the command:
#   docker run --init sip-pivot sip|engine|api|serve --config /etc/pivot/pivot.yaml
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY machines ./machines
COPY projections ./projections
COPY src ./src
COPY console ./console
COPY scripts/build-console.mjs ./scripts/
# `npm ci` runs `prepare`, which compiles the sources to dist/ with the TypeScript compiler and bundles
# the web console into dist/console with esbuild.
RUN npm ci

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Runtime dependencies only; the compiled JavaScript comes from the build stage.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force \
  && npm rebuild better-sqlite3
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
# node runs the CLI in-process, so the signals docker sends reach the server (run it under an init:
# `docker run --init`, or `init: true` in docker-compose.yml).
ENTRYPOINT ["node", "bin/pivot.mjs"]
CMD ["serve", "--config", "/etc/pivot/pivot.yaml"]
