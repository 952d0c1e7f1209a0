# gongmo-watcher image: `watcher run` by default; `watcher serve --host 0.0.0.0` for the web page.
# Build: docker build -t gongmo-watcher .   Compose: deploy/docker-compose.yml   Docs: docs/DEPLOY.md
# Any Debian-like base with Python 3.11+ works: `make image-check` builds it on a debootstrapped Debian 12
# (buildah --from), where python3-venv is installed by the first RUN.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TZ=Asia/Seoul \
    WATCHER_DB=/data/watcher.db \
    WATCHER_SOURCES=/config/sources.yaml \
    WATCHER_RULES=/config/rules.yaml \
    PATH=/opt/venv/bin:$PATH

# Zone data for log times in Korea time (TZ), and the sqlite3 shell for backups (docs/DEPLOY.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tzdata sqlite3 \
 && (python3 -c 'import ensurepip' 2>/dev/null || apt-get install -y --no-install-recommends python3-venv) \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 --user-group watcher \
 && mkdir -p /data /config && chown watcher:watcher /data

WORKDIR /app

# Dependencies in their own layer, pinned by constraints.txt (the versions `make test` installs):
# rebuilt only when pyproject.toml or constraints.txt change, not on every code change.
COPY pyproject.toml constraints.txt ./
# A virtual environment in /opt/venv (first on PATH): the same on a base whose Python is Debian's own.
RUN python3 -m venv /opt/venv \
 && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > requirements.txt \
 && pip install -c constraints.txt -r requirements.txt

# The code, installed without touching the dependencies above.
COPY README.md ./
COPY watcher ./watcher
RUN pip install --no-deps . && rm -rf build

# Default config; mount your own folder over /config (read-only is fine; edits are picked up live).
COPY sources.yaml rules.yaml /config/

USER watcher
VOLUME ["/data"]
# `watcher serve --host 0.0.0.0 --port 8080`: search page, /status, /metrics, /healthz.
EXPOSE 8080
# Unhealthy (exit 1, with the reasons) when a source fails past alert_after or is degraded/stale, alerts
# have been pending over an hour, or no poll round completed within twice the shortest interval.
HEALTHCHECK --interval=5m --timeout=30s --start-period=10m --retries=2 CMD ["watcher", "status", "--check"]
# Secrets come from the environment: SLACK_BOT_TOKEN (or SLACK_WEBHOOK_URL), DATA_GO_KR_KEY, ...
CMD ["watcher", "run"]
