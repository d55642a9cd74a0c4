#!/usr/bin/env bash
# Starts the action server and the Rasa server on loopback; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export RASA_TELEMETRY_ENABLED=false
# One TensorFlow thread: faster for these small models (bot/ops/launch.py, docs/benchmarks.md).
export TF_INTRA_OP_PARALLELISM_THREADS=${TF_INTRA_OP_PARALLELISM_THREADS:-1}
export TF_INTER_OP_PARALLELISM_THREADS=${TF_INTER_OP_PARALLELISM_THREADS:-1}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
RASA_PORT=${RASA_PORT:-5005}
# Links the bot sends (the card form) and the pages allowed to use the chat name
# this server, also when RASA_PORT moves it off 5005.
export BOT_PUBLIC_URL=${BOT_PUBLIC_URL:-http://127.0.0.1:$RASA_PORT}
mkdir -p var

# Another program on one of the ports would answer in our place: say so and stop.
for port in "$ACTIONS_PORT" "$RASA_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use by another program: stop it, or choose other ports" >&2
    echo "(RASA_PORT=5105 ACTIONS_PORT=5155 make run)" >&2
    exit 1
  fi
done

# endpoints.yml names the action server on 5055; another port gets a copy under var/.
ENDPOINTS=$($BIN/python -c "from pathlib import Path; from bot.ops.launch import endpoints_file; print(endpoints_file(Path('var').resolve(), $ACTIONS_PORT))")

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
  --credentials credentials.yml --endpoints "$ENDPOINTS" >var/rasa.log 2>&1 &
pids+=($!)

echo "starting (logs: var/rasa.log, var/actions.log)..."
ready=
for _ in $(seq 1 180); do
  if curl -fsS "http://127.0.0.1:$RASA_PORT/webhooks/rest/" >/dev/null 2>&1 \
     && curl -fsS "http://127.0.0.1:$ACTIONS_PORT/health" >/dev/null 2>&1; then
    ready=1; break
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "a server failed to start:"; tail -n 30 var/rasa.log var/actions.log; exit 1; }
  done
  sleep 1
done
[ -n "$ready" ] || { echo "the servers did not answer within 3 minutes:"; tail -n 30 var/rasa.log var/actions.log; exit 1; }
TOKEN=$($BIN/bot token cust-lv-owner)
ORIGINS=$($BIN/python -c "from bot.config import get_settings; print(', '.join(sorted(get_settings().allowed_origins)))")
cat <<INFO

The bot is running on http://127.0.0.1:$RASA_PORT (REST, Socket.IO, HTTP API).
The HTTP API needs this installation's token: .venv/bin/bot api-token

Chat in the browser (demo sign-in, en/lv/zh):  http://127.0.0.1:$RASA_PORT/chat/
Agent console:                                  http://127.0.0.1:$RASA_PORT/console/
On another site's pages (README, "Embedding the chat"):
  <script src="http://127.0.0.1:$RASA_PORT/chat/widget.js" data-lang="en" async></script>
  pages allowed to use the chat: $ORIGINS (BOT_WIDGET_ORIGINS adds sites)
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
