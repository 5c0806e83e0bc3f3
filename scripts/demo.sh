#!/usr/bin/env bash
# The demo: start the bundled emulator, apply examples/, edit an object behind the
# reconciler's back, watch the plan find the drift and apply put it back.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
WORK=.reconciler/demo
rm -rf "$WORK" && mkdir -p "$WORK"

PORT=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export MCP_SERVER_URL="http://127.0.0.1:$PORT" MCP_API_KEY="demo-key"
export DATABASE_URL="sqlite:///$WORK/state.db"

$BIN/reconciler emulator --port "$PORT" --api-key "$MCP_API_KEY" --ready-delay 0.5 \
  --state-file "$WORK/emulator.json" >"$WORK/emulator.log" 2>&1 &
EMULATOR=$!
trap 'kill $EMULATOR 2>/dev/null || true' EXIT
$BIN/python - "$MCP_SERVER_URL" <<'PY'
import sys, time, httpx
for _ in range(100):
    try:
        httpx.get(sys.argv[1] + "/agentprovision/v1/health").raise_for_status()
        break
    except httpx.HTTPError:
        time.sleep(0.1)
else:
    sys.exit("the emulator did not start; see .reconciler/demo/emulator.log")
PY

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step $BIN/reconciler validate examples
step $BIN/reconciler plan examples
step $BIN/reconciler apply examples --auto-approve
step $BIN/reconciler plan examples --detailed-exitcode

printf '\n\033[1m# Someone edits the acme nightly job through the connector, outside the reconciler:\033[0m\n'
$BIN/python - <<'PY'
import os, httpx
base = os.environ["MCP_SERVER_URL"] + "/agentprovision/v1/databricks"
h = {"Authorization": f"Bearer {os.environ['MCP_API_KEY']}"}
jobs = httpx.get(f"{base}/jobs", params={"tenant_id": "acme"}, headers=h).json()["jobs"]
job = jobs[0]
settings = dict(job["settings"], max_concurrent_runs=5)
httpx.post(f"{base}/jobs/{job['job_id']}/reset",
           json={"tenant_id": "acme", "new_settings": settings}, headers=h).raise_for_status()
print(f"job {job['settings']['name']}: max_concurrent_runs set to 5")
PY

set +e
step $BIN/reconciler drift examples
echo "(exit code $?: 2 means drift was found)"
step $BIN/reconciler plan examples --detailed-exitcode
echo "(exit code $?: 2 means changes are pending)"
set -e
step $BIN/reconciler apply examples --auto-approve
step $BIN/reconciler plan examples --detailed-exitcode
step $BIN/reconciler history --limit 3

printf '\n\033[1m# The support agent asks the self-managed index: which article is about sending a product back?\033[0m\n'
$BIN/python - <<'PY'
import os, sys, httpx
base = os.environ["MCP_SERVER_URL"] + "/agentprovision/v1/databricks"
h = {"Authorization": f"Bearer {os.environ['MCP_API_KEY']}"}
query = [0.8, 0.0, 0.2, 0.0, 0.0, 0.0, 0.3, 0.0]  # the agent's embedding of "how do I send this back?"
body = {"tenant_id": "acme", "query_vector": query, "num_results": 3, "columns": ["id", "title"]}
index = "agentprovision_acme.default.articles_index"
found = httpx.post(f"{base}/vector-indexes/{index}/search", json=body, headers=h)
found.raise_for_status()
for rank, (article_id, title, score) in enumerate(found.json()["result"]["data_array"], 1):
    print(f"{rank}. {title} (id {article_id}, score {score:.3f})")
top = found.json()["result"]["data_array"][0][1]
if top != "Returning an item":
    sys.exit(f"expected 'Returning an item' first, got {top!r}")
PY
printf '\nDemo done: state in %s, emulator log in %s\n' "$WORK/state.db" "$WORK/emulator.log"
