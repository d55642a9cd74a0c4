#!/usr/bin/env bash
# Starts the action server and the Rasa server on loopback; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export RASA_TELEMETRY_ENABLED=false
# One TensorFlow thread: faster for these small models (bot/launch.py, docs/benchmarks.md).
export TF_INTRA_OP_PARALLELISM_THREADS=${TF_INTRA_OP_PARALLELISM_THREADS:-1}
export TF_INTER_OP_PARALLELISM_THREADS=${TF_INTER_OP_PARALLELISM_THREADS:-1}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
RASA_PORT=${RASA_PORT:-5005}
mkdir -p var

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  echo "stopped."
}
trap stop INT TERM EXIT

# SANIC_HOST keeps the action server on loopback (rasa-sdk binds 0.0.0.0 otherwise).
SANIC_HOST=127.0.0.1 $BIN/rasa run actions --actions actions --port "$ACTIONS_PORT" >var/actions.log 2>&1 &
pids+=($!)
$BIN/rasa run --model models --enable-api --interface 127.0.0.1 --port "$RASA_PORT" \
  --credentials credentials.yml --endpoints endpoints.yml >var/rasa.log 2>&1 &
pids+=($!)

echo "starting (logs: var/rasa.log, var/actions.log)..."
for _ in $(seq 1 180); do
  if curl -fsS "http://127.0.0.1:$RASA_PORT/status" >/dev/null 2>&1 \
     && curl -fsS "http://127.0.0.1:$ACTIONS_PORT/health" >/dev/null 2>&1; then
    break
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "a server failed to start:"; tail -n 30 var/rasa.log var/actions.log; exit 1; }
  done
  sleep 1
done
TOKEN=$($BIN/bot token cust-lv-owner)
cat <<INFO

The bot is running on http://127.0.0.1:$RASA_PORT (REST, Socket.IO, HTTP API).
The HTTP API needs this installation's token: .venv/bin/bot api-token

Chat in the browser (demo sign-in, en/lv/zh):  http://127.0.0.1:$RASA_PORT/chat/
Agent console:                                  http://127.0.0.1:$RASA_PORT/console/
  demo agent: anna / demo-agent-pass; demo trainer (queue + NLU inbox): toms / demo-trainer-pass
  (add real accounts with: .venv/bin/bot agent add NAME [--role trainer])

Chat in a terminal, as a demo customer:
  make shell CUSTOMER=cust-lv-owner     (or cust-zh-nonowner, cust-en-owner, cust-en-current)

Or with curl:
  curl -s http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook -H 'Content-Type: application/json' \\
    -d '{"sender":"demo-1","message":"Mans maksājums tika noraidīts","metadata":{"customer_token":"$TOKEN"}}'

Press Ctrl-C to stop.
INFO
wait -n "${pids[@]}"
