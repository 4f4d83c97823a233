package durable.gate_test

import data.durable.gate

release := "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

# A gate input as the reconciler builds it: this example's blue/green switch
# on stage local, on a Sunday morning.
base := {
	"apiVersion": "durable.dev/policy/v1", "entry": "gate",
	"now": at("2026-11-22", "Sunday", 10, 0),
	"service": "web",
	"stage": {"name": "local", "index": 0, "targets": ["docker"]},
	"target": "docker", "zone": "local",
	"release": {
		"id": release, "artifact": "127.0.0.1:5000/quickstart/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"revision": "3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a", "from": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"rollback": false,
	},
	"step": {"kind": "promote", "index": 0, "count": 1, "weight": 100},
	"bake": {"elapsedSeconds": 0, "requests": 0, "serverErrors": 0},
	"analysis": {"verdict": "none", "signals": []},
	"strategy": {"kind": "blueGreen", "keepWarm": 1, "progressDeadline": "2m0s"},
	"stages": {"local": {"serving": {"docker": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}, "inFlight": {"docker": release}}},
	"approvals": [],
}

at(date, weekday, hour, minute) := {
	"rfc3339": sprintf("%sT%02d:%02d:00+01:00", [date, hour, minute]), "unixNano": 0,
	"timezone": "Europe/Paris", "weekday": weekday, "hour": hour, "minute": minute, "date": date,
}

# A canary as the reconciler passes it (durations as Go strings).
canary := {
	"kind": "canary", "keepWarm": 1, "progressDeadline": "2m0s",
	"steps": [
		{"weight": 10, "bake": {"time": "10m0s", "requests": 1000}},
		{"weight": 50, "bake": {"time": "30m0s", "requests": 10000}},
	],
	"analysis": {"maxErrorRate": 0.01, "maxErrorRateIncrease": 0.01, "minRequests": 20},
}

approval(stage, verified) := {
	"release": substring(release, 0, 12), "stage": stage, "by": "alice@example.com", "reason": "CHG-1234",
	"file": "approvals/web-prod.json", "commit": "bb22", "author": {"name": "Alice", "email": "alice@example.com"},
	"signer": {"identity": "alice@example.com", "method": "ssh", "key": "SHA256:abc"}, "verified": verified,
}

# A production stage with everything in order: a canary, an approval, a
# Tuesday morning outside any freeze.
prod := object.union(base, {
	"stage": {"name": "prod-eu", "index": 2, "targets": ["eu-1"]}, "target": "eu-1", "zone": "eu-west",
	"now": at("2026-11-24", "Tuesday", 10, 0), "strategy": canary,
	"step": {"kind": "promote", "index": 0, "count": 3, "weight": 10},
	"approvals": [approval("prod-eu", true)],
})

friday_late := at("2026-11-27", "Friday", 15, 30)

christmas := at("2026-12-25", "Friday", 10, 0)

decision(x) := "deny" if {
	count(gate.deny) > 0 with input as x
} else := "hold" if {
	count(gate.hold) > 0 with input as x
} else := "allow" if {
	gate.allow with input as x
} else := "deny"

reasons(x) := r if {
	denies := gate.deny with input as x
	holds := gate.hold with input as x
	r := denies | holds
}

rolled_back(x) := object.union(x, {"release": {"rollback": true}})

test_local_steps_allowed if {
	decision(base) == "allow"
	decision(object.union(base, {"step": {"kind": "enter", "index": 0, "count": 1, "weight": 0}})) == "allow"
}

test_unknown_step_kind_not_allowed if {
	decision(object.union(base, {"step": {"kind": "pause"}})) == "deny"
}

test_production_in_order_allowed if {
	decision(prod) == "allow"
	decision(object.union(prod, {"step": {"kind": "enter", "index": 0, "weight": 0}})) == "allow"
}

test_freeze_window_holds_production if {
	decision(object.union(prod, {"now": christmas})) == "hold"
	some msg in reasons(object.union(prod, {"now": christmas}))
	contains(msg, "change freeze from 2026-12-24 to 2027-01-01 (year-end freeze)")
}

test_freeze_window_bounds_inclusive if {
	decision(object.union(prod, {"now": at("2026-12-24", "Thursday", 0, 0)})) == "hold"
	decision(object.union(prod, {"now": at("2027-01-01", "Friday", 9, 0)})) == "hold"
	decision(object.union(prod, {"now": at("2026-12-23", "Wednesday", 23, 59)})) == "allow"
	decision(object.union(prod, {"now": at("2027-01-02", "Saturday", 0, 0)})) == "allow"
}

test_freeze_window_spares_other_stages if {
	decision(object.union(base, {"now": christmas})) == "allow"
}

test_friday_afternoon_holds_production if {
	decision(object.union(prod, {"now": friday_late})) == "hold"
	decision(object.union(prod, {"now": friday_late, "step": {"kind": "enter", "weight": 0}})) == "hold"
	some msg in reasons(object.union(prod, {"now": friday_late}))
	contains(msg, "no production promotion on Friday from 15:00 (it is Friday 15:30 Europe/Paris)")
}

test_friday_morning_and_other_stages_allowed if {
	decision(object.union(prod, {"now": at("2026-11-27", "Friday", 14, 59)})) == "allow"
	decision(object.union(prod, {"now": at("2026-11-26", "Thursday", 18, 0)})) == "allow"
	decision(object.union(base, {"now": friday_late})) == "allow"
}

test_blue_green_denied_in_production if {
	blue_green := json.patch(prod, [{"op": "replace", "path": "/strategy", "value": base.strategy}])
	decision(blue_green) == "deny"
	reasons(blue_green) == {`stage prod-eu is production: service web must roll out as a canary of at least 2 steps, each baking for a time and a number of requests, not "blueGreen" (which moves all the traffic at once)`}
	decision(object.union(blue_green, {"step": {"kind": "enter", "weight": 0}})) == "deny"
}

test_canary_with_one_step_denied_in_production if {
	one := object.union(prod, {"strategy": {"steps": [canary.steps[0]]}})
	reasons(one) == {"stage prod-eu is production: service web's canary has 1 step(s); it needs at least 2"}
}

test_canary_step_without_full_bake_denied_in_production if {
	no_requests := object.union(prod, {"strategy": {"steps": [canary.steps[0], {"weight": 50, "bake": {"time": "30m"}}]}})
	reasons(no_requests) == {`stage prod-eu is production: step 1 of service web's canary must bake for both a time and a number of requests (bake: {time: "10m", requests: 1000})`}
	no_time := object.union(prod, {"strategy": {"steps": [{"weight": 10, "bake": {"requests": 100}}, canary.steps[1]]}})
	decision(no_time) == "deny"
	no_bake := object.union(prod, {"strategy": {"steps": [{"weight": 10}, canary.steps[1]]}})
	decision(no_bake) == "deny"
	zero_requests := object.union(prod, {"strategy": {"steps": [{"weight": 10, "bake": {"time": "30s", "requests": 0}}, canary.steps[1]]}})
	decision(zero_requests) == "deny"
}

test_strange_strategy_denied_in_production_without_error if {
	decision(object.union(prod, {"strategy": {"kind": "canary", "steps": "all at once"}})) == "deny"
	decision(object.union(prod, {"strategy": {"kind": "canary", "steps": [1, 2]}})) == "deny"
	decision(object.union(prod, {"strategy": null})) == "deny"
	decision(object.union(prod, {"strategy": {"steps": [{"bake": "10m"}, {"bake": "20m"}]}})) == "deny"
}

test_production_waits_for_an_approval if {
	waiting := object.union(prod, {"approvals": []})
	reasons(waiting) == {"stage prod-eu needs an approval of release 60303ae22b99 in a signed commit: durable approve 60303ae22b99 --stage prod-eu --reason TEXT"}
	decision(object.union(prod, {"approvals": [approval("prod-eu", false)]})) == "hold"
	decision(object.union(prod, {"approvals": [approval("prod-us", true)]})) == "hold"
	decision(object.union(prod, {"approvals": [object.union(approval("prod-eu", true), {"release": "9f86d081884c"})]})) == "hold"
	decision(object.union(prod, {"approvals": [object.union(approval("prod-eu", true), {"release": "60303ae2"})]})) == "hold"
	decision(object.union(prod, {"approvals": [object.union(approval("prod-eu", true), {"release": 60303})]})) == "hold"
	decision(object.union(prod, {"approvals": [object.union(approval("prod-eu", true), {"release": release})]})) == "allow"
}

test_failed_analysis_denies if {
	failed := object.union(base, {"analysis": {"verdict": "fail", "signals": [
		{"name": "error-rate", "canary": 0.12, "baseline": 0.01, "threshold": 0.05, "verdict": "fail"},
		{"name": "latency-p99", "canary": 0.2, "baseline": 0.2, "threshold": 0.5, "verdict": "pass"},
	]}})
	reasons(failed) == {"analysis failed for 60303ae22b99 on docker at step 0: error-rate 0.12 vs baseline 0.01 (threshold 0.05)"}
	decision(object.union(base, {"analysis": {"verdict": "pass"}})) == "allow"
	reasons(object.union(base, {"analysis": {"verdict": "fail"}})) == {"analysis failed for 60303ae22b99 on docker at step 0: no signal detail"}

	# Entering a stage moves no traffic: the analysis is for promotions.
	decision(object.union(failed, {"step": {"kind": "enter", "weight": 0}})) == "allow"
}

test_inconclusive_analysis_holds if {
	decision(object.union(base, {"analysis": {"verdict": "inconclusive"}})) == "hold"
	decision(object.union(base, {"analysis": {"verdict": "inconclusive"}, "step": {"kind": "enter"}})) == "allow"
}

test_rollback_never_held_nor_denied if {
	decision(rolled_back(object.union(prod, {"now": friday_late}))) == "allow"
	decision(rolled_back(object.union(prod, {"now": christmas}))) == "allow"
	decision(rolled_back(object.union(prod, {"approvals": [], "strategy": base.strategy}))) == "allow"
	decision(rolled_back(object.union(base, {"analysis": {"verdict": "fail"}}))) == "allow"
	decision(rolled_back(object.union(base, {"analysis": {"verdict": "inconclusive"}}))) == "allow"
	decision(rolled_back(object.union(prod, {"strategy": {"steps": [canary.steps[0]]}}))) == "allow"
	decision(rolled_back(object.union(prod, {"strategy": {"steps": [{"weight": 10}, canary.steps[1]]}}))) == "allow"
}

test_canary_rules_only_in_production if {
	one_step := {"kind": "canary", "keepWarm": 1, "steps": [{"weight": 100}]}
	decision(object.union(base, {"strategy": one_step})) == "allow"
	decision(object.union(base, {"strategy": canary})) == "allow"
}
