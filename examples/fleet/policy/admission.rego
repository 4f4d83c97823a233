# Admission: asked once for every new revision of this repository, before
# anything of it is applied. A non-empty deny rejects the revision (what runs
# keeps running); a later revision is asked again.
#
# Rule: an infrastructure change (class "infra": targets, replicas, a service
# added or removed) needs an SRE's approval. Application changes (a new
# artifact, env, args, health check) and rollbacks are admitted as they are.
package durable.admission

# The SREs whose approval admits an infrastructure change: the names your
# approval files write in "by" and your signature trust file gives the keys.
sre_group := {"alice@example.com", "bob@example.com"}

# The first revision (input.old is null) creates everything, so its change is
# always "infra". It is admitted without approval, or a repository could
# never start; every later revision is compared with the one that runs.
first_revision if input.old == null

# A change the reconciler marks as a rollback (every release it declares is
# still warm, so applying it is a traffic switch back) is never blocked.
rollback if input.change.rollback == true

# A commit signed by an SRE (its signature verified by the host) needs no
# separate approval.
sre_commit if input.commit.signer.identity in sre_group

# An approval admits a release when it names it (the full id or a prefix of
# at least 12 characters), for any stage, by a member of sre_group, and its
# commit is signed by a key the host trusts (verified). "by" is what the file
# says; to also check who signed it, require a.signer.identity in sre_group.
sre_approved(release) if {
	some a in input.approvals
	a.verified == true
	a.by in sre_group
	is_string(a.release)
	count(a.release) >= 12
	startswith(release, lower(a.release))
}

# A service whose infrastructure changed needs an SRE's approval of its
# release (the new one; the old one when the service is removed).
deny contains msg if {
	not first_revision
	not rollback
	not sre_commit
	some name, svc in input.change.services
	"infra" in svc.classes
	release := release_of(svc)
	not sre_approved(release)
	msg := sprintf(
		"service %s %s: an infrastructure change needs an SRE's approval of release %s (durable approve %s --stage %s --by YOU, in a signed commit)",
		[name, what(svc), substring(release, 0, 12), substring(release, 0, 12), first_stage],
	)
}

# A target change has no release to approve: it must come in a commit signed
# by an SRE.
deny contains msg if {
	not first_revision
	not rollback
	not sre_commit
	some name, t in input.change.targets
	msg := sprintf(
		"target %s %s: an infrastructure change to a target must come in a commit signed by an SRE (%s)",
		[name, t.change, concat(", ", sort(sre_group))],
	)
}

release_of(svc) := svc.to if svc.to != ""

release_of(svc) := svc.from if svc.to == ""

what(svc) := sprintf("changed (%s)", [concat(", ", svc.fields)]) if svc.change == "changed"

what(svc) := svc.change if svc.change != "changed"

first_stage := name if {
	name := input.new.pipeline.stages[0].name
} else := "STAGE"
