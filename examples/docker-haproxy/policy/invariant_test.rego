package durable.invariant_test

import data.durable.invariant

now := {
	"rfc3339": "2026-11-22T10:00:00Z", "unixNano": 1795341600000000000, "timezone": "UTC",
	"weekday": "Sunday", "hour": 10, "minute": 0, "date": "2026-11-22",
}

# Infra-sets of the example's service web on target docker (ids are
# service-release[:12]-target; each set runs 2 replicas).
infra_set(id, state, weight, healthy) := {"id": id, "release": id, "state": state, "weight": weight, "healthy": healthy, "desired": 2}

fleet(sets, in_flight) := {"services": {"web": {"replicas": 2, "keepWarm": 1, "placements": [{
	"stage": "local", "target": "docker", "zone": "local", "inFlight": in_flight, "sets": sets,
}]}}}

action(kind, id, rollback) := {
	"kind": kind, "service": "web", "stage": "local", "target": "docker",
	"set": id, "release": id, "rollback": rollback,
}

ask(kind, id, before, after) := {
	"apiVersion": "durable.dev/policy/v1", "entry": "invariant", "now": now,
	"action": action(kind, id, false), "before": before, "after": after,
}

a := "web-9f86d081884c-docker"

b := "web-60303ae22b99-docker"

c := "web-fd61a03af4f7-docker"

# The example's first deploy: create the set, then give it all the traffic.
test_first_deploy_allowed if {
	count(invariant.deny) == 0 with input as ask("create-set", a, {"services": {}}, fleet([infra_set(a, "creating", 0, 0)], true))
	count(invariant.deny) == 0 with input as ask(
		"set-split", a,
		fleet([infra_set(a, "ready", 0, 2)], true),
		fleet([infra_set(a, "serving", 100, 2)], true),
	)
}

# The example's blue/green switch: all the traffic moves from a healthy set to
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
	denies == {"web on docker: infra-set web-60303ae22b99-docker would get 100% of the traffic with 1 of 2 instances healthy"}
}

test_split_away_from_a_set_below_capacity_allowed if {
	count(invariant.deny) == 0 with input as ask(
		"set-split", b,
		fleet([infra_set(a, "serving", 100, 1), infra_set(b, "ready", 0, 2)], true),
		fleet([infra_set(a, "warm", 0, 1), infra_set(b, "serving", 100, 2)], true),
	)
}

# The example's git revert: traffic switches back to the warm set.
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
	denies == {"web on docker: infra-set web-9f86d081884c-docker is the only warm set and keepWarm is 1: removing it would leave no rollback"}
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

# ---- Rules of this fuller set --------------------------------------------

# Web on two targets in two zones; the rollout of release 60303ae22b99 is in
# flight on both (the reconciler starts it on every placement).
zoned(eu_sets, us_sets) := {"services": {"web": {"replicas": 2, "keepWarm": 1, "placements": [
	{"stage": "prod", "target": "eu-1", "zone": "eu-west", "inFlight": true, "sets": eu_sets},
	{"stage": "prod", "target": "us-1", "zone": "us-east", "inFlight": true, "sets": us_sets},
]}}}

eu_a := "web-9f86d081884c-eu-1"

eu_b := "web-60303ae22b99-eu-1"

us_a := "web-9f86d081884c-us-1"

us_b := "web-60303ae22b99-us-1"

create_us_b(eu_sets) := object.union(
	ask(
		"create-set", us_b,
		zoned(eu_sets, [infra_set(us_a, "serving", 100, 2)]),
		zoned(eu_sets, [infra_set(us_a, "serving", 100, 2), infra_set(us_b, "creating", 0, 0)]),
	),
	{"action": {"stage": "prod", "target": "us-1"}},
)

test_second_zone_waits_while_the_first_brings_up_its_set if {
	denies := invariant.deny with input as create_us_b([infra_set(eu_a, "serving", 100, 2), infra_set(eu_b, "creating", 0, 0)])
	denies == {"web: one zone at a time: zone eu-west is rolling out (web-60303ae22b99-eu-1 is creating on eu-1); web-60303ae22b99-us-1 in zone us-east waits"}
	count(invariant.deny) == 1 with input as create_us_b([infra_set(eu_a, "serving", 100, 2), infra_set(eu_b, "ready", 0, 2)])
	count(invariant.deny) == 1 with input as create_us_b([infra_set(eu_a, "serving", 90, 2), infra_set(eu_b, "canary", 10, 2)])
}

test_second_zone_starts_once_the_first_serves if {
	count(invariant.deny) == 0 with input as create_us_b([infra_set(eu_a, "warm", 0, 2), infra_set(eu_b, "serving", 100, 2)])
	count(invariant.deny) == 0 with input as create_us_b([infra_set(eu_a, "serving", 100, 2), infra_set(eu_b, "failed", 0, 0)])
}

test_first_zone_to_start_goes_first if {
	count(invariant.deny) == 0 with input as create_us_b([infra_set(eu_a, "serving", 100, 2)])
}

test_same_zone_rolls_out_together if {
	x := create_us_b([infra_set(eu_a, "serving", 100, 2), infra_set(eu_b, "creating", 0, 0)])
	same := json.patch(x, [
		{"op": "replace", "path": "/before/services/web/placements/0/zone", "value": "us-east"},
		{"op": "replace", "path": "/after/services/web/placements/0/zone", "value": "us-east"},
	])
	count(invariant.deny) == 0 with input as same
}

test_a_zone_whose_rollout_is_done_does_not_count if {
	x := create_us_b([infra_set(eu_a, "serving", 100, 2), infra_set(eu_b, "ready", 0, 2)])
	done := json.patch(x, [{"op": "replace", "path": "/before/services/web/placements/0/inFlight", "value": false}])
	count(invariant.deny) == 0 with input as done
}

# A rollout under way always finishes: the rule only concerns create-set.
test_rollout_under_way_in_another_zone_finishes if {
	x := ask(
		"set-split", us_b,
		zoned([infra_set(eu_a, "serving", 100, 2), infra_set(eu_b, "creating", 0, 0)], [infra_set(us_a, "serving", 100, 2), infra_set(us_b, "ready", 0, 2)]),
		zoned([infra_set(eu_a, "serving", 100, 2), infra_set(eu_b, "creating", 0, 0)], [infra_set(us_a, "warm", 0, 2), infra_set(us_b, "serving", 100, 2)]),
	)
	count(invariant.deny) == 0 with input as object.union(x, {"action": {"stage": "prod", "target": "us-1"}})
}

test_remove_set_with_traffic_denied if {
	denies := invariant.deny with input as ask(
		"remove-set", b,
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 2)], false),
		fleet([infra_set(a, "warm", 0, 2), infra_set(b, "removing", 100, 2)], false),
	)
	denies == {"web on docker: infra-set web-60303ae22b99-docker still receives 100% of the traffic; move the traffic before removing it"}
}

test_remove_failed_set_with_traffic_allowed if {
	count(invariant.deny) == 0 with input as ask(
		"remove-set", b,
		fleet([infra_set(a, "serving", 50, 2), infra_set(b, "failed", 50, 0)], false),
		fleet([infra_set(a, "serving", 50, 2)], false),
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
		{"stage": "local", "target": "docker", "zone": "local", "inFlight": false, "sets": [infra_set(a, "warm", 0, 2), infra_set(b, "serving", 100, 2)]},
		{"stage": "local", "target": "other", "zone": "local", "inFlight": false, "sets": [infra_set("web-9f86d081884c-other", "warm", 0, 2), infra_set("web-60303ae22b99-other", "serving", 100, 2)]},
	]}}}
	after := json.patch(before, [{"op": "replace", "path": "/services/web/placements/0/sets/0/state", "value": "removing"}])
	count(invariant.deny) == 1 with input as ask("remove-set", a, before, after)
}

# A canary step raises the weight of a healthy set that already has traffic;
# the same step onto a canary that lost an instance waits.
test_canary_step_onto_a_healthy_set_allowed if {
	count(invariant.deny) == 0 with input as ask(
		"set-split", b,
		fleet([infra_set(a, "serving", 90, 2), infra_set(b, "canary", 10, 2)], true),
		fleet([infra_set(a, "serving", 50, 2), infra_set(b, "canary", 50, 2)], true),
	)
	count(invariant.deny) == 1 with input as ask(
		"set-split", b,
		fleet([infra_set(a, "serving", 90, 2), infra_set(b, "canary", 10, 1)], true),
		fleet([infra_set(a, "serving", 50, 2), infra_set(b, "canary", 50, 1)], true),
	)
}
