# One image for every process of pedidos-bot; docker-compose.yml picks the command (the same
# commands as the Procfile that `make run` starts).

# Build stage: a venv with exactly uv.lock's runtime set (no dev group, the project's code is
# copied below rather than installed), by the uv version pyproject.toml requires.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
COPY pyproject.toml uv.lock /src/
WORKDIR /src
RUN pip install "uv$(sed -n 's/^required-version = "\(.*\)"/\1/p' pyproject.toml)" \
    && uv sync --locked --no-dev --no-install-project --python /usr/local/bin/python3

# Runtime stage: the venv and the code, run by an unprivileged user who can write only /data and
# /tmp: the venv and the code belong to root, so a compromised process cannot rewrite them.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PATH=/venv/bin:$PATH \
    MEDIA_DIR=/data/media \
    BACKUP_DIR=/data/backups
# pg_dump and pg_restore for the backups of a PostgreSQL database (core.backup): Debian
# bookworm's postgresql-client is 15, the major version of docker-compose.yml's server.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        postgresql-client \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 pedidos \
    && mkdir -p /data/media /data/backups /run/pedidos-metrics \
    && chown -R pedidos:pedidos /data /run/pedidos-metrics
COPY --from=build /venv /venv
WORKDIR /app
# The code stays root's (read-only to the user that runs it): a compromised process cannot
# rewrite what every later start runs. Only /data (media, backups) is the user's.
COPY core ./core
COPY bot ./bot
COPY tasks ./tasks
COPY sandbox ./sandbox
COPY scripts ./scripts
# Alembic's scripts: `migrate` applies them, and every process checks the schema against them.
COPY migrations ./migrations
# The demo shop (catalogue and photos): used only when CATALOG_FILE names it.
COPY demo ./demo
COPY celeryconfig.py flowerconfig.py ./
USER pedidos
# 8443: the bot's webhook and /healthz (webhook mode); 5555: Flower.
EXPOSE 8443 5555
CMD ["python", "-m", "bot"]
