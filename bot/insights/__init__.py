"""What the bot recovers and where it fails: metrics for support leads and trainers.

- ledger.py: the billing conversations the actions note as they happen
- facts.py: what became of each one, derived from payments and tickets
- metrics.py: the metrics of a period, per language and per day (grouped SQL)
- report.py: the metrics as text, JSON and CSV (`bot insights`)
- charts.py: server-rendered SVG charts with text alternatives
- sections.py: the page's sections, each a chart and its tables
- page.py: the console's insights page, its filters and the request behind them
- history.py: `bot demo seed --history N`, generated past activity marked as demo
"""
