# The reconciler as a container: `docker run IMAGE plan /specs` with MCP_* and DATABASE_URL set.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# git: `serve` fetches git sources with the git command
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY reconciler ./reconciler
RUN pip install . && useradd --create-home --uid 10001 reconciler
USER reconciler
WORKDIR /home/reconciler
ENTRYPOINT ["reconciler"]
CMD ["--help"]
