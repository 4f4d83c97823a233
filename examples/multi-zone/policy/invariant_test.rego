package durable.invariant_test

import data.durable.invariant

# Sets of service web: ids are service-release[:12]-target.
infra_set(id, state, weight) := {"id": id, "release": id, "state": state, "weight": weight, "healthy": 2, "desired": 2}

placement(stage, target, sets) := {"stage": stage, "target": target, "zone": target, "inFlight": true, "sets": sets}

fleet(placements) := {"services": {"web": {"replicas": 2, "keepWarm": 1, "placements": placements}}}

ask(kind, stage, target, rollback, after) := {
	"apiVersion": "durable.dev/policy/v1", "entry": "invariant",
	"action": {"kind": kind, "service": "web", "stage": stage, "target": target, "set": sprintf("web-60303ae22b99-%s", [target]), "rollback": rollback},
	"before": after, "after": after,
}

eu_split := placement("prod", "prod-eu-west-b", [infra_set("web-9f86d081884c-prod-eu-west-b", "serving", 75), infra_set("web-60303ae22b99-prod-eu-west-b", "canary", 25)])

eu_done := placement("prod", "prod-eu-west-b", [infra_set("web-9f86d081884c-prod-eu-west-b", "warm", 0), infra_set("web-60303ae22b99-prod-eu-west-b", "serving", 100)])

us_split := placement("prod", "prod-us-east-a", [infra_set("web-9f86d081884c-prod-us-east-a", "serving", 90), infra_set("web-60303ae22b99-prod-us-east-a", "canary", 10)])

staging_split := placement("staging", "staging", [infra_set("web-9f86d081884c-staging", "serving", 50), infra_set("web-60303ae22b99-staging", "canary", 50)])

test_second_zone_waits_while_the_first_is_split if {
	invariant.deny == {"web: its traffic on prod-eu-west-b is still split (web-9f86d081884c-prod-eu-west-b at 75%, web-60303ae22b99-prod-eu-west-b at 25%); one production zone moves at a time, so prod-us-east-a waits"} with input as ask("set-split", "prod", "prod-us-east-a", false, fleet([eu_split, us_split]))
}

test_second_zone_moves_once_the_first_is_done if {
	count(invariant.deny) == 0 with input as ask("set-split", "prod", "prod-us-east-a", false, fleet([eu_done, us_split]))
}

test_the_split_zone_itself_moves_on if {
	count(invariant.deny) == 0 with input as ask("set-split", "prod", "prod-eu-west-b", false, fleet([eu_split]))
}

test_staging_split_does_not_hold_production if {
	count(invariant.deny) == 0 with input as ask("set-split", "prod", "prod-us-east-a", false, fleet([staging_split, us_split]))
}

test_rollback_never_refused if {
	count(invariant.deny) == 0 with input as ask("set-split", "prod", "prod-us-east-a", true, fleet([eu_split, us_split]))
}

test_other_actions_not_concerned if {
	count(invariant.deny) == 0 with input as ask("create-set", "prod", "prod-us-east-a", false, fleet([eu_split, us_split]))
}
