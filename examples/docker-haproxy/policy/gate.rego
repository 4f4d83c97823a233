# Gate: asked before a release enters a stage (input.step.kind "enter") and
# before each step of traffic is promoted ("promote"). Any deny fails the
# rollout (it is not retried until a new revision); else any hold makes it
# wait (the gate is asked again on every pass); else allow must be true.
#
# Rules, none of which applies to a rollback (input.release.rollback):
#   - no change during a freeze window (hold);
#   - no production promotion on Friday from 15:00 local time (hold);
#   - production needs a canary of at least two steps, each baking for both a
#     time and a number of requests (deny: the strategy must change);
#   - production needs an approval of the release for the stage (hold until
#     one is committed: durable approve RELEASE --stage STAGE);
#   - a failed analysis fails the rollout (deny); an inconclusive one waits
#     for more data (hold).
# A stage is production when its name starts with "prod". This example's only
# stage is "local", where just the analysis rule applies.
package durable.gate

default allow := false

# The gate has no objection of its own: deny and hold decide. A step kind this
# policy does not know is not allowed (fail closed).
allow if input.step.kind in {"enter", "promote"}

rollback if input.release.rollback == true

production if startswith(input.stage.name, "prod")

# ---- Freeze windows ------------------------------------------------------

# Change-freeze windows, inclusive, as local dates of input.now (the
# reconciler's --timezone). A window applies to the stages whose name starts
# with its "stages" prefix ("" for every stage).
freeze_windows := [
	{"from": "2026-12-24", "to": "2027-01-01", "stages": "prod", "reason": "year-end freeze"},
	{"from": "2027-03-29", "to": "2027-04-02", "stages": "prod", "reason": "quarter close"},
]

hold contains msg if {
	not rollback
	some w in freeze_windows
	startswith(input.stage.name, object.get(w, "stages", ""))
	w.from <= input.now.date
	input.now.date <= w.to
	msg := sprintf(
		"change freeze from %s to %s (%s): %s waits to %s stage %s",
		[w.from, w.to, w.reason, short(input.release.id), input.step.kind, input.stage.name],
	)
}

# ---- Friday afternoons ---------------------------------------------------

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

# ---- Canary with bake in production --------------------------------------

# The strategy as declared: kind "blueGreen", or kind "canary" with steps,
# each {weight, bake: {time, requests}}. Its fields are read defensively
# (object.get, is_object, is_array), so that this policy never fails on a
# strategy of another shape: it denies it with a clear message instead.
strategy := s if {
	s := input.strategy
	is_object(s)
} else := {}

strategy_kind := object.get(strategy, "kind", "")

canary_steps := s if {
	s := object.get(strategy, "steps", [])
	is_array(s)
} else := []

deny contains msg if {
	not rollback
	production
	strategy_kind != "canary"
	msg := sprintf(
		"stage %s is production: service %s must roll out as a canary of at least 2 steps, each baking for a time and a number of requests, not %s (which moves all the traffic at once)",
		[input.stage.name, input.service, kind_name],
	)
}

deny contains msg if {
	not rollback
	production
	strategy_kind == "canary"
	count(canary_steps) < 2
	msg := sprintf(
		"stage %s is production: service %s's canary has %d step(s); it needs at least 2",
		[input.stage.name, input.service, count(canary_steps)],
	)
}

deny contains msg if {
	not rollback
	production
	strategy_kind == "canary"
	some i, step in canary_steps
	not baked(step)
	msg := sprintf(
		"stage %s is production: step %d of service %s's canary must bake for both a time and a number of requests (bake: {time: \"10m\", requests: 1000})",
		[input.stage.name, i, input.service],
	)
}

kind_name := sprintf("%q", [strategy_kind]) if strategy_kind != ""

kind_name := "no strategy" if strategy_kind == ""

baked(step) if {
	is_object(step)
	bake := object.get(step, "bake", {})
	is_object(bake)
	not object.get(bake, "time", null) in {null, "", 0}
	not object.get(bake, "requests", null) in {null, "", 0}
}

# ---- Approval for production ---------------------------------------------

# input.approvals holds the approvals of this release (any stage). One for
# this stage, committed in a commit the host verified, lets it through.
approved if {
	some a in input.approvals
	a.verified == true
	a.stage == input.stage.name
	is_string(a.release)
	count(a.release) >= 12
	startswith(input.release.id, lower(a.release))
}

hold contains msg if {
	not rollback
	production
	not approved
	msg := sprintf(
		"stage %s needs an approval of release %s in a signed commit: durable approve %s --stage %s --reason TEXT",
		[input.stage.name, short(input.release.id), short(input.release.id), input.stage.name],
	)
}

# ---- Analysis ------------------------------------------------------------

deny contains msg if {
	not rollback
	input.step.kind == "promote"
	input.analysis.verdict == "fail"
	msg := sprintf(
		"analysis failed for %s on %s at step %d: %s",
		[short(input.release.id), input.target, input.step.index, failed_text],
	)
}

hold contains msg if {
	not rollback
	input.step.kind == "promote"
	input.analysis.verdict == "inconclusive"
	msg := sprintf(
		"analysis of %s on %s is inconclusive (not enough data yet): waiting before step %d",
		[short(input.release.id), input.target, input.step.index],
	)
}

failed_text := concat(", ", failed_signals) if {
	count(failed_signals) > 0
} else := "no signal detail"

failed_signals := [sprintf("%s %v vs baseline %v (threshold %v)", [s.name, s.canary, s.baseline, s.threshold]) |
	some s in input.analysis.signals
	s.verdict == "fail"
]

short(id) := substring(id, 0, 12)
