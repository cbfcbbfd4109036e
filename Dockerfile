# One image for every pivot role; the role is the command:
#   docker run sip-pivot sip|engine|api|serve --config /etc/pivot/pivot.yaml
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Runtime dependencies only (tsx runs the TypeScript sources, it is one of them).
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY config ./config
COPY machines ./machines
COPY projections ./projections
COPY src ./src
COPY tsconfig.json ./
ENTRYPOINT ["npx", "tsx", "src/cli/main.ts"]
CMD ["serve", "--config", "/etc/pivot/pivot.yaml"]
