package durable.gate_test

import data.durable.gate

release := "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

# A gate input as the reconciler builds it, for the demo's blue/green switch
# on stage local, on a Sunday morning.
base := {
	"apiVersion": "durable.dev/policy/v1", "entry": "gate",
	"now": at("2026-11-22", "Sunday", 10, 0),
	"service": "web",
	"stage": {"name": "local", "index": 0, "targets": ["local"]},
	"target": "local", "zone": "local",
	"release": {
		"id": release, "artifact": "127.0.0.1:5000/quickstart/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"revision": "3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a", "from": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"rollback": false,
	},
	"step": {"kind": "promote", "index": 0, "count": 1, "weight": 100},
	"bake": {"elapsedSeconds": 0, "requests": 0, "serverErrors": 0},
	"analysis": {"verdict": "none", "signals": []},
	"strategy": {"kind": "blueGreen", "keepWarm": 1, "progressDeadline": "2m0s"},
	"stages": {"local": {"serving": {"local": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}, "inFlight": {"local": release}}},
	"approvals": [],
}

at(date, weekday, hour, minute) := {
	"rfc3339": sprintf("%sT%02d:%02d:00+01:00", [date, hour, minute]), "unixNano": 0,
	"timezone": "Europe/Paris", "weekday": weekday, "hour": hour, "minute": minute, "date": date,
}

prod := object.union(base, {"stage": {"name": "prod-eu"}, "target": "eu-1", "zone": "eu-west"})

friday_late := at("2026-11-27", "Friday", 15, 30)

decision(x) := "deny" if {
	count(gate.deny) > 0 with input as x
} else := "hold" if {
	count(gate.hold) > 0 with input as x
} else := "allow" if {
	gate.allow with input as x
} else := "deny"

test_demo_steps_allowed if {
	decision(base) == "allow"
	decision(object.union(base, {"step": {"kind": "enter", "index": 0, "count": 1, "weight": 0}})) == "allow"
}

test_unknown_step_kind_not_allowed if {
	decision(object.union(base, {"step": {"kind": "pause"}})) == "deny"
}

test_freeze_window_holds if {
	frozen := object.union(base, {"now": at("2025-12-24", "Wednesday", 11, 0)})
	decision(frozen) == "hold"
	holds := gate.hold with input as frozen
	some msg in holds
	contains(msg, "change freeze from 2025-12-22 to 2026-01-02 (year-end freeze)")
}

test_freeze_window_bounds_inclusive if {
	decision(object.union(base, {"now": at("2025-12-22", "Monday", 0, 0)})) == "hold"
	decision(object.union(base, {"now": at("2026-01-02", "Friday", 9, 0)})) == "hold"
	decision(object.union(base, {"now": at("2025-12-21", "Sunday", 23, 59)})) == "allow"
	decision(object.union(base, {"now": at("2026-01-03", "Saturday", 0, 0)})) == "allow"
}

test_no_freeze_window_in_the_next_60_days if {
	every d in numbers.range(0, 60) {
		day := time.format([time.add_date(1795341600000000000, 0, 0, d), "UTC", "2006-01-02"])
		decision(object.union(base, {"now": at(day, "Monday", 10, 0)})) == "allow"
	}
}

test_friday_afternoon_holds_production if {
	decision(object.union(prod, {"now": friday_late})) == "hold"
	holds := gate.hold with input as object.union(prod, {"now": friday_late})
	some msg in holds
	contains(msg, "no production promotion on Friday from 15:00 (it is Friday 15:30 Europe/Paris)")
}

test_friday_afternoon_holds_entering_production if {
	decision(object.union(prod, {"now": friday_late, "step": {"kind": "enter", "weight": 0}})) == "hold"
}

test_friday_morning_allows_production if {
	decision(object.union(prod, {"now": at("2026-11-27", "Friday", 14, 59)})) == "allow"
}

test_friday_afternoon_allows_other_stages if {
	decision(object.union(base, {"now": friday_late})) == "allow"
}

test_rollback_never_held if {
	back := {"release": {"rollback": true}}
	decision(object.union(object.union(prod, {"now": friday_late}), back)) == "allow"
	decision(object.union(object.union(base, {"now": at("2025-12-24", "Wednesday", 11, 0)}), back)) == "allow"
}

test_other_days_allow_production if {
	decision(object.union(prod, {"now": at("2026-11-26", "Thursday", 16, 0)})) == "allow"
	decision(object.union(prod, {"now": at("2026-11-28", "Saturday", 16, 0)})) == "allow"
}
