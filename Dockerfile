# Worker image: `deepfabric worker` polling TEMPORAL_ADDRESS. Model keys come from the environment.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY scripts/write-esm-entry.js ./scripts/
RUN npm run build
# With DEEPFABRIC_STORE=postgres://... (compose) a worker keeps nothing on disk; a folder store needs the
# same folder as the client: mount it at /data yourself (no VOLUME here, which would make an anonymous one).
ENV DEEPFABRIC_DATA_DIR=/data
CMD ["node", "bin/deepfabric.js", "worker"]
