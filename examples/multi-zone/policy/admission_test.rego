package durable.admission_test

import data.durable.admission

web_old := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

web_new := "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

# An admission input as the reconciler builds it; old and new hold only what
# these rules read.
ask(change, commit) := {
	"apiVersion": "durable.dev/policy/v1", "entry": "admission",
	"commit": object.union({"id": "3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a", "message": "", "signer": null, "trailers": {}}, commit),
	"change": object.union({"classes": [], "services": {}, "targets": {}, "pipeline": [], "stages": [], "rollback": false}, change),
	"old": {"services": {}}, "new": {"services": {}},
	"approvals": [],
}

release_change := {"classes": ["app"], "services": {"web": {
	"change": "changed", "classes": ["app"], "fields": ["artifact"],
	"from": web_old, "to": web_new, "rollback": false,
}}}

zone_change := {"classes": ["infra"], "targets": {"prod-us-east-a": {"change": "changed", "fields": ["runtime.host"]}}}

stage_change := {"classes": ["infra"], "pipeline": ["stages.1.bake.time"], "stages": ["prod-canary"]}

platform_signer := {"identity": "platform@example.com", "key": "SHA256:platform"}

test_release_with_ticket_admitted if {
	count(admission.deny) == 0 with input as ask(release_change, {"trailers": {"Ticket": ["SHOP-1234"]}})
}

test_release_without_ticket_denied if {
	admission.deny == {`service web: an application change (artifact) needs a "Ticket:" trailer in its commit message`} with input as ask(release_change, {})
}

test_zone_change_unsigned_denied if {
	admission.deny == {"target prod-us-east-a changed: the platform's targets and stages change only in a commit signed by the platform team (platform@example.com, sre@example.com)"} with input as ask(zone_change, {})
}

test_stage_change_signed_by_someone_else_denied if {
	some msg in admission.deny with input as ask(stage_change, {"signer": {"identity": "dev@example.com", "key": "SHA256:dev"}})
	startswith(msg, "stage prod-canary changed:")
}

test_platform_change_signed_by_the_platform_admitted if {
	count(admission.deny) == 0 with input as ask(object.union(zone_change, {"stages": ["prod"]}), {"signer": platform_signer})
}

test_both_parts_changed_lists_both if {
	some msg in admission.deny with input as ask(object.union(zone_change, {"stages": ["prod"]}), {})
	startswith(msg, "stage prod, target prod-us-east-a changed:")
}

test_hold_commit_admitted if {
	hold := {"classes": ["control"], "services": {"web": {"change": "changed", "classes": ["control"], "fields": ["hold"], "from": web_old, "to": web_old, "rollback": false}}}
	count(admission.deny) == 0 with input as ask(hold, {})
}

test_rollback_admitted if {
	count(admission.deny) == 0 with input as ask(object.union(object.union(release_change, zone_change), {"rollback": true}), {})
}

test_first_revision_admitted if {
	first := object.union(ask(object.union(release_change, zone_change), {}), {"old": null})
	count(admission.deny) == 0 with input as first
}
