# Invariant: asked before every action (create-set, set-split, scale-set,
# remove-set) with the fleet as it is (input.before) and as it would be
# after the action (input.after). A non-empty deny stops the action; the
# reconciler tries again on its next pass.
#
# Rule: one production zone moves at a time. Traffic of a service is not
# split in a production zone while another production zone of the same
# service is still split between two sets. A rollback is never refused.
package durable.invariant

deny contains msg if {
	input.action.kind == "set-split"
	not input.action.rollback
	startswith(input.action.stage, "prod")
	name := input.action.service
	some p in input.after.services[name].placements
	startswith(p.stage, "prod")
	p.target != input.action.target
	split(p)
	msg := sprintf(
		"%s: its traffic on %s is still split (%s); one production zone moves at a time, so %s waits",
		[name, p.target, weights(p), input.action.target],
	)
}

# A placement is split when a set has some but not all of its traffic.
split(p) if {
	some s in p.sets
	s.weight > 0
	s.weight < 100
}

# The sets of a placement that get traffic, with their weights.
weights(p) := concat(", ", [sprintf("%s at %d%%", [s.id, s.weight]) | some s in p.sets; s.weight > 0])
