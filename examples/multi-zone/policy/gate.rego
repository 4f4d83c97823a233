# Gate: asked before a release enters a stage (input.step.kind "enter") and
# before each step of traffic is promoted ("promote"). Any deny fails the
# rollout; else any hold makes it wait; else allow must be true.
#
# Rule: the production zones take new releases in working hours only
# (Monday to Friday, 08:00 to 18:00 in the reconciler's --timezone), when
# someone is there to watch. The hold lifts by itself when the hours come. A
# rollback is never held. (Approvals before prod-canary are the stage's own
# gate, in infra/targets.cue.)
package durable.gate

default allow := false

allow if input.step.kind in {"enter", "promote"}

rollback if input.release.rollback == true

working_hours if {
	not input.now.weekday in {"Saturday", "Sunday"}
	input.now.hour >= 8
	input.now.hour < 18
}

hold contains msg if {
	not rollback
	startswith(input.stage.name, "prod")
	not working_hours
	msg := sprintf(
		"production takes new releases Monday to Friday, 08:00 to 18:00 (it is %s %02d:%02d %s): %s waits to %s stage %s",
		[input.now.weekday, input.now.hour, input.now.minute, input.now.timezone, substring(input.release.id, 0, 12), input.step.kind, input.stage.name],
	)
}
