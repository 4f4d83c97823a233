# Gate: asked before a release enters a stage (input.step.kind "enter") and
# before each step of traffic is promoted ("promote"). Any deny fails the
# rollout; else any hold makes it wait (the gate is asked again on every
# pass); else allow must be true.
#
# Rules: no change during a freeze window; no production promotion on Friday
# from 15:00 local time. Both hold rather than deny, so that the rollout goes
# on by itself once the window is over. A rollback is never held.
package durable.gate

default allow := false

# The gate has no objection of its own: deny and hold decide. A step kind this
# policy does not know is not allowed (fail closed).
allow if input.step.kind in {"enter", "promote"}

# Change-freeze windows, inclusive, as local dates of input.now (the
# reconciler's --timezone). These examples are in the past: put yours here.
freeze_windows := [
	{"from": "2025-12-22", "to": "2026-01-02", "reason": "year-end freeze"},
	{"from": "2026-06-29", "to": "2026-07-03", "reason": "datacenter move"},
]

rollback if input.release.rollback == true

production if startswith(input.stage.name, "prod")

hold contains msg if {
	not rollback
	some w in freeze_windows
	w.from <= input.now.date
	input.now.date <= w.to
	msg := sprintf(
		"change freeze from %s to %s (%s): %s waits to %s stage %s",
		[w.from, w.to, w.reason, short(input.release.id), input.step.kind, input.stage.name],
	)
}

hold contains msg if {
	not rollback
	production
	input.now.weekday == "Friday"
	input.now.hour >= 15
	msg := sprintf(
		"no production promotion on Friday from 15:00 (it is %s %02d:%02d %s): %s waits to %s stage %s",
		[input.now.weekday, input.now.hour, input.now.minute, input.now.timezone, short(input.release.id), input.step.kind, input.stage.name],
	)
}

short(id) := substring(id, 0, 12)
