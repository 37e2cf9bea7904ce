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
ENV DEEPFABRIC_DATA_DIR=/data
VOLUME ["/data"]
CMD ["node", "bin/deepfabric.js", "worker"]
