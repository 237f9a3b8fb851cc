# owntracks-hub: README.md ("Docker") tells how to run it.
# The build steps live in scripts/build-image.sh, which the tests also run outside Docker.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY acl ./acl
COPY public ./public
COPY scripts/build-image.sh scripts/pack-towns.mjs ./scripts/
RUN sh scripts/build-image.sh /src /app

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    OTHUB_DATA=/data \
    OTHUB_ACL_DIR=/acl \
    OTHUB_HOST=0.0.0.0
COPY --from=build /app /app
# The official image's unprivileged user (uid 1000) owns the data; the hub never needs root.
# `owntracks-hub` on the PATH, for `docker exec <container> owntracks-hub user add …`.
RUN mkdir -p /data /acl && chown node:node /data /acl && ln -s /app/dist/src/cli.js /usr/local/bin/owntracks-hub
USER node
VOLUME ["/data", "/acl"]
# MQTT, MQTT over TLS, HTTP (API, map, WebSocket MQTT), HTTPS
EXPOSE 1883 8883 8083 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["node", "/app/dist/src/cli.js", "healthcheck"]
# SIGTERM (docker stop) stops gracefully: give it time with --stop-timeout / stop_grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["serve"]
