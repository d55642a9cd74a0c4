"""What the bot recovers and where it fails: metrics for support leads and trainers.

ledger.py   the billing conversations the actions note as they happen
metrics.py  the metrics of a period, per language and per day (SQLite and PostgreSQL)
report.py   the metrics as text, JSON and CSV (`bot insights`)
charts.py   server-rendered SVG charts with text alternatives
page.py     the console's insights page (HTML)
history.py  `bot demo seed --history N`: generated past activity, marked as demo
"""
