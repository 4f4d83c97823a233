package durable.admission_test

import data.durable.admission

web_v1 := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

web_v2 := "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

now := {
	"rfc3339": "2026-11-22T10:00:00Z", "unixNano": 1795341600000000000, "timezone": "UTC",
	"weekday": "Sunday", "hour": 10, "minute": 0, "date": "2026-11-22",
}

state := {
	"services": {"web": {
		"name": "web",
		"artifact": "127.0.0.1:5000/quickstart/web@sha256:0000000000000000000000000000000000000000000000000000000000000000",
		"run": {"args": [], "env": {"GREETING": "hello"}, "port": 8080, "replicas": 2},
		"health": {"path": "/healthz", "expectStatus": 200, "interval": "2s", "timeout": "1s"},
		"strategy": {"kind": "blueGreen", "keepWarm": 1, "progressDeadline": "2m0s"},
	}},
	"targets": {"local": {"name": "local", "zone": "local", "runtime": {"kind": "process"}, "traffic": {"kind": "router", "admin": "edge"}}},
	"pipeline": {"stages": [{"name": "local", "targets": ["local"]}]},
}

commit := {
	"id": "3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a", "message": "Deploy web", "trailers": {},
	"author": {"name": "Dev", "email": "dev@example.com"}, "time": "2026-11-22T09:59:00Z", "signer": null,
}

# An admission input as the reconciler builds it.
admission_input(old, change) := {
	"apiVersion": "durable.dev/policy/v1", "entry": "admission", "now": now, "commit": commit,
	"change": object.union({"classes": [], "services": {}, "targets": {}, "pipeline": [], "stages": [], "rollback": false}, change),
	"old": old, "new": state, "approvals": [],
}

# The demo's first revision: the service and its target appear.
first := admission_input(null, {
	"classes": ["app", "control", "infra"],
	"services": {"web": {"change": "added", "classes": ["app", "control", "infra"], "fields": ["artifact", "run.replicas", "strategy.kind"], "from": "", "to": web_v1, "rollback": false}},
	"targets": {"local": {"change": "added", "fields": ["zone"]}},
	"pipeline": ["stages.0.name"],
})

# A later revision that changes only the artifact.
artifact := admission_input(state, {
	"classes": ["app"],
	"services": {"web": {"change": "changed", "classes": ["app"], "fields": ["artifact"], "from": web_v1, "to": web_v2, "rollback": false}},
})

# A later revision that scales the service: an infra change.
replicas := admission_input(state, {
	"classes": ["infra"],
	"services": {"web": {"change": "changed", "classes": ["infra"], "fields": ["run.replicas"], "from": web_v1, "to": web_v2, "rollback": false}},
})

# A later revision that moves the target to another zone.
target_move := admission_input(state, {
	"classes": ["infra"],
	"targets": {"local": {"change": "changed", "fields": ["zone"]}},
})

approval(release, by, verified) := {
	"release": release, "stage": "local", "by": by, "reason": "scale for the launch",
	"file": "approvals/web.json", "commit": "aa11", "author": {"name": "A", "email": by},
	"signer": null, "verified": verified,
}

test_first_revision_admitted if {
	count(admission.deny) == 0 with input as first
}

test_artifact_change_admitted if {
	count(admission.deny) == 0 with input as artifact
}

test_infra_change_denied_without_approval if {
	denies := admission.deny with input as replicas
	some msg in denies
	contains(msg, "service web changed (run.replicas)")
	contains(msg, "durable approve 60303ae22b99 --stage local")
}

test_infra_change_admitted_with_sre_approval if {
	count(admission.deny) == 0 with input as object.union(replicas, {"approvals": [approval(substring(web_v2, 0, 12), "alice@example.com", true)]})
}

test_unverified_approval_not_enough if {
	count(admission.deny) == 1 with input as object.union(replicas, {"approvals": [approval(web_v2, "alice@example.com", false)]})
}

test_approval_outside_sre_group_not_enough if {
	count(admission.deny) == 1 with input as object.union(replicas, {"approvals": [approval(web_v2, "mallory@example.com", true)]})
}

test_approval_of_another_release_not_enough if {
	count(admission.deny) == 1 with input as object.union(replicas, {"approvals": [approval(web_v1, "alice@example.com", true)]})
}

test_approval_prefix_shorter_than_12_not_enough if {
	count(admission.deny) == 1 with input as object.union(replicas, {"approvals": [approval(substring(web_v2, 0, 11), "alice@example.com", true)]})
}

test_removed_service_needs_approval_of_its_last_release if {
	removed := object.union(replicas, {"change": {"services": {"web": {"change": "removed", "classes": ["app", "infra"], "fields": [], "from": web_v1, "to": ""}}}})
	denies := admission.deny with input as removed
	some msg in denies
	contains(msg, "service web removed")
	contains(msg, substring(web_v1, 0, 12))
	count(admission.deny) == 0 with input as object.union(removed, {"approvals": [approval(web_v1, "bob@example.com", true)]})
}

test_target_change_denied_unless_signed_by_sre if {
	denies := admission.deny with input as target_move
	some msg in denies
	contains(msg, "target local changed")
	signed := object.union(target_move, {"commit": {"signer": {"identity": "bob@example.com", "method": "ssh", "key": "SHA256:abc"}}})
	count(admission.deny) == 0 with input as signed
	other := object.union(target_move, {"commit": {"signer": {"identity": "dev@example.com", "method": "ssh", "key": "SHA256:def"}}})
	count(admission.deny) == 1 with input as other
}

test_rollback_admitted if {
	count(admission.deny) > 0 with input as replicas
	count(admission.deny) == 0 with input as object.union(replicas, {"change": {"rollback": true}})
}

test_infra_change_admitted_when_signed_by_an_sre if {
	signed := object.union(replicas, {"commit": {"signer": {"identity": "alice@example.com", "method": "openpgp", "key": "ABCD1234"}}})
	count(admission.deny) == 0 with input as signed
}

test_malformed_approval_ignored_without_error if {
	count(admission.deny) == 1 with input as object.union(replicas, {"approvals": [approval(60303, "alice@example.com", true)]})
}

test_rollback_of_a_target_change_admitted if {
	count(admission.deny) == 0 with input as object.union(target_move, {"change": {"rollback": true}})
}
