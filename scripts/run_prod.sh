#!/usr/bin/env bash
# Production mode on one machine: PostgreSQL for conversations and the bot's data,
# Redis for conversation locks, several Rasa servers behind nginx, action workers.
# Every setting can be given in the environment (README, "Production mode").
# DEMO=1 (make run-prod DEMO=1) seeds the demo data and allows the development
# secret, the demo sign-in and the demo console accounts; without it `bot serve`
# refuses all three.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export RASA_TELEMETRY_ENABLED=false
export DATABASE_URL=${DATABASE_URL:-postgresql+psycopg2://postgres@127.0.0.1:5432/billingbot}
export BOT_TRACKER_STORE_URL=${BOT_TRACKER_STORE_URL:-$DATABASE_URL}
export BOT_LOCK_STORE_URL=${BOT_LOCK_STORE_URL:-redis://127.0.0.1:6379/0}

if [ "${DEMO:-0}" = 1 ]; then
  export BOT_ENV=development
  $BIN/bot db create
  $BIN/bot db upgrade
  $BIN/bot demo seed
  exec $BIN/bot serve --demo
fi
export BOT_ENV=${BOT_ENV:-production}
$BIN/bot db create
$BIN/bot db upgrade
exec $BIN/bot serve
