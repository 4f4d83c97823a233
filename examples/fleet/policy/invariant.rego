# Invariant: asked before every action (create-set, set-split, remove-set)
# with the fleet as it is (input.before) and as it would be after the action
# (input.after). A non-empty deny stops the action; the reconciler tries again
# on its next pass.
#
# Rules: traffic only moves onto a set at full capacity; a placement that
# keeps warm sets never loses its last one. Removing a failed set, or a warm
# set beyond keepWarm, is always fine.
package durable.invariant

# Capacity never below desired: a set-split must not raise the weight of a set
# that has fewer healthy instances than desired. Lowering or keeping a weight
# is always allowed, and so is a rollback (a switch back to a warm set).
deny contains msg if {
	input.action.kind == "set-split"
	not input.action.rollback
	# An action changes the traffic of its own placement only.
	name := input.action.service
	some p in input.after.services[name].placements
	p.stage == input.action.stage
	p.target == input.action.target
	some s in p.sets
	s.weight > weight_before(name, p, s.id)
	s.healthy < s.desired
	msg := sprintf(
		"%s on %s: infra-set %s would get %d%% of the traffic with %d of %d instances healthy",
		[name, p.target, s.id, s.weight, s.healthy, s.desired],
	)
}

# Keep one warm set for rollback: with keepWarm >= 1, removing the only warm
# set of a placement that still serves is refused.
deny contains msg if {
	input.action.kind == "remove-set"
	some name, svc in input.before.services
	svc.keepWarm >= 1
	some p in svc.placements
	some s in p.sets
	s.id == input.action.set
	s.state == "warm"
	count(other_sets(name, p, "warm")) == 0
	count(other_sets(name, p, "serving")) > 0
	msg := sprintf(
		"%s on %s: infra-set %s is the only warm set and keepWarm is %d: removing it would leave no rollback",
		[name, p.target, s.id, svc.keepWarm],
	)
}

# The weight a set had before the action (0 for a new set).
weight_before(name, p, id) := w if {
	some b in input.before.services[name].placements
	b.stage == p.stage
	b.target == p.target
	some s in b.sets
	s.id == id
	w := s.weight
} else := 0

# The sets in state of placement p after the action, other than the one the
# action removes.
other_sets(name, p, state) := {s.id |
	some a in input.after.services[name].placements
	a.stage == p.stage
	a.target == p.target
	some s in a.sets
	s.state == state
	s.id != input.action.set
}
