package durable.invariant_test

import data.durable.invariant

now := {
	"rfc3339": "2026-11-22T10:00:00Z", "unixNano": 1795341600000000000, "timezone": "UTC",
	"weekday": "Sunday", "hour": 10, "minute": 0, "date": "2026-11-22",
}

# Infra-sets of the demo's service web on target local (ids are
# service-release[:12]-target; each set runs 2 replicas).
infra_set(id, state, weight, healthy) := {"id": id, "release": id, "state": state, "weight": weight, "healthy": healthy, "desired": 2}

fleet(sets, in_flight) := {"services": {"web": {"replicas": 2, "keepWarm": 1, "placements": [{
	"stage": "local", "target": "local", "zone": "local", "inFlight": in_flight, "sets": sets,
}]}}}

action(kind, id, rollback) := {
	"kind": kind, "service": "web", "stage": "local", "target": "local",
	"set": id, "release": id, "rollback": rollback,
}

ask(kind, id, before, after) := {
	"apiVersion": "durable.dev/policy/v1", "entry": "invariant", "now": now,
	"action": action(kind, id, false), "before": before, "after": after,
}

a := "web-9f86d081884c-local"

b := "web-60303ae22b99-local"

c := "web-fd61a03af4f7-local"

# The demo's first deploy: create the set, then give it all the traffic.
test_first_deploy_allowed if {
	count(invariant.deny) == 0 with input as ask("create-set", a, {"services": {}}, fleet([infra_set(a, "creating", 0, 0)], true))
	count(invariant.deny) == 0 with input as ask(
		"set-split", a,
		fleet([infra_set(a, "ready", 0, 2)], true),
		fleet([infra_set(a, "serving", 100, 2)], true),
	)
}

# The demo's blue/green switch: all the traffic moves from a healthy set to
# another healthy set.
test_blue_green_switch_allowed if {
	count(invariant.deny) == 0 with input as ask(
		"create-set", b,
		fleet([infra_set(a, "serving", 100, 2)], false),
		fleet([infra_set(a, "serving", 100, 2), infra_set(b, "creating", 0, 0)], true),
	)
	count(invariant.deny) == 0 with input as ask(
		"set-split", b,
		fleet([infra_set(a, "serving", 100, 2), infra_set(b, "ready", 0, 2)], true),
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 2)], true),
	)
}

test_split_onto_a_set_below_capacity_denied if {
	denies := invariant.deny with input as ask(
		"set-split", b,
		fleet([infra_set(a, "serving", 100, 2), infra_set(b, "ready", 0, 1)], true),
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 1)], true),
	)
	denies == {"web on local: infra-set web-60303ae22b99-local would get 100% of the traffic with 1 of 2 instances healthy"}
}

test_split_away_from_a_set_below_capacity_allowed if {
	count(invariant.deny) == 0 with input as ask(
		"set-split", b,
		fleet([infra_set(a, "serving", 100, 1), infra_set(b, "ready", 0, 2)], true),
		fleet([infra_set(a, "warm", 0, 1), infra_set(b, "serving", 100, 2)], true),
	)
}

# The demo's git revert: traffic switches back to the warm set.
test_rollback_allowed_even_below_capacity if {
	back := {
		"apiVersion": "durable.dev/policy/v1", "entry": "invariant", "now": now,
		"action": action("set-split", a, true),
		"before": fleet([infra_set(a, "warm", 0, 1), infra_set(b, "serving", 100, 2)], true),
		"after": fleet([infra_set(a, "serving", 100, 1), infra_set(b, "warm", 0, 2)], true),
	}
	count(invariant.deny) == 0 with input as back
	count(invariant.deny) == 1 with input as object.union(back, {"action": {"rollback": false}})
}

test_remove_warm_set_beyond_keep_warm_allowed if {
	count(invariant.deny) == 0 with input as ask(
		"remove-set", a,
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "warm", 0, 2), infra_set(c, "serving", 100, 2)], false),
		fleet([infra_set(a, "removing", 0, 2), infra_set(b, "warm", 0, 2), infra_set(c, "serving", 100, 2)], false),
	)

	# The same, with the removed set gone from the fleet after.
	count(invariant.deny) == 0 with input as ask(
		"remove-set", a,
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "warm", 0, 2), infra_set(c, "serving", 100, 2)], false),
		fleet([infra_set(b, "warm", 0, 2), infra_set(c, "serving", 100, 2)], false),
	)
}

test_remove_failed_set_allowed if {
	count(invariant.deny) == 0 with input as ask(
		"remove-set", c,
		fleet([infra_set(b, "serving", 100, 2), infra_set(c, "failed", 0, 0)], false),
		fleet([infra_set(b, "serving", 100, 2)], false),
	)
}

test_remove_only_warm_set_denied if {
	denies := invariant.deny with input as ask(
		"remove-set", a,
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 2)], false),
		fleet([infra_set(a, "removing", 0, 2), infra_set(b, "serving", 100, 2)], false),
	)
	denies == {"web on local: infra-set web-9f86d081884c-local is the only warm set and keepWarm is 1: removing it would leave no rollback"}
}

test_remove_only_warm_set_allowed_when_keep_warm_is_0 if {
	x := ask(
		"remove-set", a,
		object.union(fleet([infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 2)], false), {"services": {"web": {"keepWarm": 0}}}),
		object.union(fleet([infra_set(b, "serving", 100, 2)], false), {"services": {"web": {"keepWarm": 0}}}),
	)
	count(invariant.deny) == 0 with input as x
}

test_remove_only_warm_set_allowed_when_nothing_serves_there if {
	count(invariant.deny) == 0 with input as ask(
		"remove-set", a,
		fleet([infra_set(a, "warm", 0, 2)], false),
		fleet([], false),
	)
}

# Only a set-split moves traffic: other actions are not judged on weights,
# even when the fleet shows a set below capacity.
test_create_set_not_judged_on_traffic if {
	count(invariant.deny) == 0 with input as ask(
		"create-set", b,
		{"services": {}},
		fleet([infra_set(a, "serving", 100, 1), infra_set(b, "creating", 0, 0)], true),
	)
}

# A switch back to a warm set while the other set still reads "serving" is a
# set-split, not a removal: the warm-set rule does not apply.
test_switch_to_the_warm_set_is_not_a_removal if {
	count(invariant.deny) == 0 with input as ask(
		"set-split", a,
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 2)], true),
		fleet([infra_set(a, "serving", 100, 2), infra_set(b, "serving", 0, 2)], true),
	)
}

# The set removed is not counted as kept, even if the fleet after still
# shows it warm.
test_remove_only_warm_set_denied_when_after_still_lists_it if {
	count(invariant.deny) == 1 with input as ask(
		"remove-set", a,
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 2)], false),
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 2)], false),
	)
}

# Warm sets on another target do not count.
test_warm_set_on_another_target_does_not_count if {
	before := {"services": {"web": {"replicas": 2, "keepWarm": 1, "placements": [
		{"stage": "local", "target": "local", "zone": "local", "inFlight": false, "sets": [infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 2)]},
		{"stage": "local", "target": "other", "zone": "local", "inFlight": false, "sets": [infra_set("web-9f86d081884c-other", "warm", 0, 2), infra_set("web-60303ae22b99-other", "serving", 100, 2)]},
	]}}}
	after := json.patch(before, [{"op": "replace", "path": "/services/web/placements/0/sets/0/state", "value": "removing"}])
	count(invariant.deny) == 1 with input as ask("remove-set", a, before, after)
}
