# One image for every process of pedidos-bot; docker-compose.yml picks the command.
FROM python:3.11-slim AS build
WORKDIR /app
COPY pyproject.toml ./
COPY core ./core
COPY bot ./bot
COPY tasks ./tasks
COPY sandbox ./sandbox
COPY scripts ./scripts
COPY celeryconfig.py ./
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/venv/bin:$PATH \
    MEDIA_DIR=/data/media
RUN useradd --create-home --uid 10001 pedidos && mkdir -p /data/media && chown -R pedidos /data
WORKDIR /app
COPY --from=build /venv /venv
COPY --chown=pedidos core ./core
COPY --chown=pedidos bot ./bot
COPY --chown=pedidos tasks ./tasks
COPY --chown=pedidos sandbox ./sandbox
COPY --chown=pedidos scripts ./scripts
COPY --chown=pedidos celeryconfig.py ./
USER pedidos
CMD ["python", "-m", "bot"]
