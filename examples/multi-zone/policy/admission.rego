# Admission: asked once for every new revision, before anything of it is
# applied. A non-empty deny rejects the revision; what runs keeps running.
#
# Rules, following the repository's split between teams (see ../README.md):
#   - the platform's part, targets and stages (the infra/ package), changes
#     only in a commit signed by the platform team;
#   - an application change (class "app": artifact, env, args, health,
#     secrets) names its ticket in a "Ticket:" trailer.
# A rollback, a control change (hold, strategy, dependsOn) and the first
# revision are admitted as they are.
package durable.admission

# The identities (of the host's trust file) of the platform team's keys.
platform_team := {"platform@example.com", "sre@example.com"}

first_revision if input.old == null

rollback if input.change.rollback == true

platform_signed if input.commit.signer.identity in platform_team

deny contains msg if {
	not first_revision
	not rollback
	not platform_signed
	changed := platform_changes
	count(changed) > 0
	msg := sprintf(
		"%s changed: the platform's targets and stages change only in a commit signed by the platform team (%s)",
		[concat(", ", changed), concat(", ", sort(platform_team))],
	)
}

# What of the platform's part the revision changes, as "target X" and
# "stage Y", sorted.
platform_changes := sort(array.concat(
	[x | some name, _ in input.change.targets; x := sprintf("target %s", [name])],
	[x | some name in input.change.stages; x := sprintf("stage %s", [name])],
))

deny contains msg if {
	not first_revision
	not rollback
	some name, svc in input.change.services
	"app" in svc.classes
	not ticket
	msg := sprintf(
		"service %s: an application change (%s) needs a \"Ticket:\" trailer in its commit message",
		[name, concat(", ", svc.fields)],
	)
}

ticket if count(input.commit.trailers.Ticket) > 0
