"""The demo's report: the summary as one HTML page a person can open or forward."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from jinja2 import Environment

from sim.summary import Summary

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Pletfri demo: {{ s.first_day }} to {{ s.last_day }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; color: #222 }
table { border-collapse: collapse; margin: 0.5em 0 1.5em }
td, th { border-bottom: 1px solid #ddd; padding: 0.25em 0.8em; text-align: right }
td:first-child, th:first-child { text-align: left }
</style></head><body>
<h1>Pletfri demo: {{ s.buildings }} buildings, {{ s.first_day }} to {{ s.last_day }}</h1>
<p>{{ s.rooms }} rooms; simulated by the real firmware logic, gateway and backend in
{{ "%.0f"|format(s.wall_s) }} s{% if s.interrupted %} (interrupted){% endif %}.</p>

<h2>Cleaning against the plan</h2>
<table><tr><th>day</th><th>planned</th><th>done</th><th>missed</th><th>too short</th></tr>
{% for day, d in s.visits_by_day.items() %}
<tr><td>{{ day }}</td><td>{{ d.planned }}</td><td>{{ d.done }}</td><td>{{ d.missed }}</td>
<td>{{ d.too_short }}</td></tr>
{% endfor %}
{% if s.visits %}<tr><th>week</th><th>{{ s.visits.planned }}</th><th>{{ s.visits.done }}</th>
<th>{{ s.visits.missed }}</th><th>{{ s.visits.too_short }}</th></tr>{% endif %}
</table>
{% if s.visits %}<p>{{ s.visits.verified }} visits verified (both taps, long enough),
{{ s.visits.no_leave_tap }} without a leaving tap, {{ s.visits.buddy_visits }} trainee
visits with a buddy; {{ s.visits.unverifiable }} planned rooms have no station to tap.</p>
{% endif %}

{% if s.savings %}<h2>Demand-based cleaning against the fixed schedule</h2>
<table>
<tr><td>cleanings on the fixed schedule</td>
<td>{{ "{:,.0f}".format(s.savings.fixed_cleanings) }}</td></tr>
<tr><td>cleanings avoided</td><td>{{ "{:,.0f}".format(s.savings.cleanings_avoided) }}</td></tr>
<tr><td>hours saved</td><td>{{ "{:,.0f}".format(s.savings.minutes_saved / 60) }} of
{{ "{:,.0f}".format(s.savings.fixed_minutes / 60) }}</td></tr>
<tr><td>due rooms not cleaned</td><td>{{ "{:,.0f}".format(s.savings.due_not_cleaned) }}</td></tr>
</table>{% endif %}

<h2>Alerts</h2>
<table><tr><th>kind</th><th>raised</th></tr>
{% for kind, n in s.alerts|dictsort %}<tr><td>{{ kind }}</td><td>{{ n }}</td></tr>{% endfor %}
</table>
<h2>Planted faults</h2>
<table>{% for what, dev in s.faults.items() %}
<tr><td>{{ what }}</td><td>{{ dev }}</td></tr>{% endfor %}
</table>

<h2>Messages and data</h2>
<p>{{ "{:,}".format(s.sent) }} messages sent by devices, {{ "{:,}".format(s.received) }}
handled by the gateway, {{ "{:,}".format(s.accepted) }} accepted,
{{ s.rejected.values()|sum }} rejected; {{ "{:,}".format(s.points_stored) }} points stored
in InfluxDB database <code>{{ s.database }}</code> under <code>{{ s.folder }}/servers</code>
(serve it with <code>pletfri services run --run-dir {{ s.folder }}/servers</code>).</p>
</body></html>
"""


def write(summary: Summary, path: Path) -> Path:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    path.write_text(env.from_string(TEMPLATE).render(s=asdict(summary)))
    return path
