package durable.gate_test

import data.durable.gate

release := "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

at(date, weekday, hour, minute) := {
	"rfc3339": sprintf("%sT%02d:%02d:00+01:00", [date, hour, minute]), "unixNano": 0,
	"timezone": "Europe/Paris", "weekday": weekday, "hour": hour, "minute": minute, "date": date,
}

# A gate input as the reconciler builds it, entering stage name on a
# Tuesday at 10:00; only what these rules read is filled in.
ask(stage, now, rollback) := {
	"apiVersion": "durable.dev/policy/v1", "entry": "gate", "now": now,
	"service": "web", "stage": {"name": stage, "index": 1, "targets": ["prod-eu-west-a"]},
	"release": {"id": release, "rollback": rollback},
	"step": {"kind": "enter", "index": 0, "count": 3, "weight": 0},
}

tuesday := at("2026-12-01", "Tuesday", 10, 0)

decision(x) := "deny" if {
	count(gate.deny) > 0 with input as x
} else := "hold" if {
	count(gate.hold) > 0 with input as x
} else := "allow" if {
	gate.allow with input as x
} else := "not allowed"

test_prod_in_working_hours_allowed if decision(ask("prod-canary", tuesday, false)) == "allow"

test_prod_at_night_held if {
	decision(ask("prod", at("2026-12-01", "Tuesday", 21, 30), false)) == "hold"
	gate.hold == {"production takes new releases Monday to Friday, 08:00 to 18:00 (it is Tuesday 21:30 Europe/Paris): 60303ae22b99 waits to enter stage prod"} with input as ask("prod", at("2026-12-01", "Tuesday", 21, 30), false)
}

test_prod_on_saturday_held if decision(ask("prod-canary", at("2026-12-05", "Saturday", 11, 0), false)) == "hold"

test_prod_at_six_held_at_eight_allowed if {
	decision(ask("prod", at("2026-12-01", "Tuesday", 18, 0), false)) == "hold"
	decision(ask("prod", at("2026-12-01", "Tuesday", 8, 0), false)) == "allow"
}

test_staging_at_night_allowed if decision(ask("staging", at("2026-12-05", "Saturday", 23, 0), false)) == "allow"

test_rollback_never_held if decision(ask("prod", at("2026-12-05", "Saturday", 3, 0), true)) == "allow"

test_unknown_step_not_allowed if {
	x := object.union(ask("staging", tuesday, false), {"step": {"kind": "teleport"}})
	decision(x) == "not allowed"
}
