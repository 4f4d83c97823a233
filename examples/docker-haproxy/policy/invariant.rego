# Invariant: asked before every action (create-set, set-split, remove-set)
# with the fleet as it is (input.before) and as it would be after the action
# (input.after). A non-empty deny stops the action; the reconciler tries again
# on its next pass.
#
# Rules:
#   - one zone at a time: a service brings up new infra-sets in one zone at a
#     time;
#   - capacity never below desired: traffic only moves onto a set whose
#     healthy instances reach its desired count, and a set that still has
#     traffic is not removed (unless it failed);
#   - a placement that keeps warm sets (keepWarm >= 1) and still serves never
#     loses its last warm set.
# Removing a failed set, or a warm set beyond keepWarm, is always fine. A
# rollback (input.action.rollback: a set-split back to a warm set) is never
# stopped by the capacity rule: it is the way out.
package durable.invariant

rollback if input.action.rollback == true

# ---- One zone at a time --------------------------------------------------

# The reconciler starts the rollout of a release on every placement it
# concerns, one placement after another in each pass. This rule lets one zone
# at a time bring up its new infra-set: a create-set is refused while another
# zone has a rollout in flight whose new set is still coming up (creating,
# ready and not yet serving, or serving a canary step). Set-splits and removals are never refused by it,
# so a rollout under way always finishes; the next zone starts once that set
# serves or fails. Placements in the same zone roll out together.

deny contains msg if {
	input.action.kind == "create-set"
	name := input.action.service
	zone := action_zone
	some p in input.before.services[name].placements
	p.inFlight == true
	p.zone != zone
	some s in p.sets
	s.state in {"creating", "ready", "canary"}
	msg := sprintf(
		"%s: one zone at a time: zone %s is rolling out (%s is %s on %s); %s in zone %s waits",
		[name, p.zone, s.id, s.state, p.target, input.action.set, zone],
	)
}

# The zone of the placement the action is on.
action_zone := p.zone if {
	some p in input.after.services[input.action.service].placements
	p.stage == input.action.stage
	p.target == input.action.target
}

# ---- Capacity never below desired ----------------------------------------

# A set-split must not raise the weight of a set that has fewer healthy
# instances than desired. Lowering or keeping a weight is always allowed.
deny contains msg if {
	input.action.kind == "set-split"
	not rollback
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

# A set that still receives traffic is not removed, unless it failed.
deny contains msg if {
	input.action.kind == "remove-set"
	some name, svc in input.before.services
	some p in svc.placements
	some s in p.sets
	s.id == input.action.set
	s.weight > 0
	s.state != "failed"
	msg := sprintf(
		"%s on %s: infra-set %s still receives %d%% of the traffic; move the traffic before removing it",
		[name, p.target, s.id, s.weight],
	)
}

# ---- Keep one warm set for rollback --------------------------------------

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

# ---- Helpers -------------------------------------------------------------

# The weight a set had before the action (0 for a new set).
weight_before(name, p, id) := w if {
	some b in input.before.services[name].placements
	b.stage == p.stage
	b.target == p.target
	some s in b.sets
	s.id == id
	w := s.weight
} else := 0

# The sets in a state of placement p after the action, other than the one the
# action removes.
other_sets(name, p, state) := {s.id |
	some a in input.after.services[name].placements
	a.stage == p.stage
	a.target == p.target
	some s in a.sets
	s.state == state
	s.id != input.action.set
}
