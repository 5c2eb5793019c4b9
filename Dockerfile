# The study as a container image: the runner is the entry point, data baked in, run as a non-root user.
#   docker build --build-arg FMNIST_COMMIT=$(git rev-parse HEAD) -t fmnist-ts .
#   docker run --rm -v "$PWD/out:/artifacts" fmnist-ts --profile full --check --shard 2/4
# Artifacts go to /artifacts (a volume); one container per shard, then `npm run merge` (README, "Running on many machines").
FROM node:20-bookworm-slim

ENV NODE_ENV=development \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    FMNIST_ARTIFACTS_DIR=/artifacts

WORKDIR /app
RUN chown node:node /app && mkdir -p /artifacts && chown node:node /artifacts

USER node

# Dependencies from the lockfile first (cached while only sources change). The workspace's package.json is needed
# for npm ci; `prepare` (the lib build) runs after the sources are copied.
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node lib/package.json lib/package.json
RUN npm ci --no-audit --ignore-scripts

# Sources, notebooks, baselines and the Fashion-MNIST files (data/fashion-mnist, checksummed at every load).
COPY --chown=node:node . .
RUN npm rebuild && npm run build

# The commit the image was built from (no .git inside): recorded in summary.json so merge can refuse mixed shards.
ARG FMNIST_COMMIT=unknown
ENV FMNIST_COMMIT=${FMNIST_COMMIT}

VOLUME ["/artifacts"]
ENTRYPOINT ["node", "--import", "tsx", "scripts/run-notebooks.ts"]
CMD ["--profile", "full", "--check"]
