# SrvThreds builder image: the application's source, its npm dependencies and
# its build output, in /app. Built once; every service image copies /app from
# it (see Dockerfile.service), so dependencies are installed a single time.
#
# Parameterised only through build args, so the same file builds the toolkit's
# fixture app (tests/fixtures/srvthreds-app) and a real SrvThreds checkout:
#   NODE_IMAGE          base image with Node.js and npm (default node:18-bookworm-slim)
#   SRVTHREDS_APP_DIR   the app's folder inside the build context (default ".")
#
# Works with the classic builder of Docker Engine 20.10 (no BuildKit-only syntax).
ARG NODE_IMAGE=node:18-bookworm-slim
FROM ${NODE_IMAGE}

ARG SRVTHREDS_APP_DIR=.

WORKDIR /app

# The whole app folder; the context's .dockerignore keeps node_modules, .git
# and local build output out.
COPY ${SRVTHREDS_APP_DIR}/ /app/

# Dependencies only from a lockfile (reproducible; `npm ci` fails when
# package.json and package-lock.json disagree). An app without a lockfile has
# no dependencies to install. Then the app's own build step, when it has one.
# Finally make everything world-readable: the service images run as a
# non-root user.
RUN set -e; \
    if [ -f package-lock.json ]; then \
        npm ci --no-audit --no-fund; \
    else \
        echo "builder: no package-lock.json in ${SRVTHREDS_APP_DIR}: no dependencies installed"; \
    fi; \
    npm run build --if-present; \
    chmod -R a+rX /app
