FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WATCHER_DB=/data/watcher.db \
    WATCHER_SOURCES=/config/sources.yaml \
    WATCHER_RULES=/config/rules.yaml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN pip install --no-cache-dir . \
 && useradd --create-home --uid 10001 watcher \
 && mkdir -p /data /config && chown watcher:watcher /data

COPY sources.yaml rules.yaml /config/
USER watcher
VOLUME ["/data"]
# Secrets come from the environment: SLACK_BOT_TOKEN (or SLACK_WEBHOOK_URL), DATA_GO_KR_KEY, ...
CMD ["watcher", "run"]
