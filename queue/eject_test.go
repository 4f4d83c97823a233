package queue

import (
	"fmt"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/internal/gittest"
)

// byBranch indexes proposals by branch.
func byBranch(ps []Proposal) map[string]Proposal {
	out := map[string]Proposal{}
	for _, p := range ps {
		out[p.Branch] = p
	}
	return out
}

// A proposal the quickstart's admission policy denies (replicas changed:
// an infrastructure change without an SRE's approval) is ejected with the
// policy's reasons and the change's class; the proposals behind it land
// without it.
// At depth 4 the proposal behind the denied one was validated on top of
// it, speculatively: it is applied and validated again without it.
func TestAProposalAdmissionDeniesIsEjectedAndThoseBehindLand(t *testing.T) {
	for _, depth := range []int{1, 4} {
		t.Run(fmt.Sprintf("depth=%d", depth), func(t *testing.T) { admissionDenies(t, depth) })
	}
}

func admissionDenies(t *testing.T, depth int) {
	r := newDesiredRepo(t, 3)
	r.propose(t, "queue/a", map[string]string{"release.cue": releaseFile(3, map[int]int{0: 1})})
	r.propose(t, "queue/scale", map[string]string{"service.cue": strings.Replace(servicesFile(3), "replicas: 2", "replicas: 5", 1)})
	r.propose(t, "queue/c", map[string]string{"release.cue": releaseFile(3, map[int]int{2: 7})})
	run := newRunner(t, r, Config{Depth: depth})
	ps := byBranch(drain(t, run))
	denied := ps["queue/scale"]
	if denied.State != Ejected || denied.Reason != ReasonAdmission {
		t.Fatalf("the scale-up: %+v", denied)
	}
	why := strings.Join(denied.Reasons, "\n")
	for _, want := range []string{"class", "infra", "service svc0 changed (run.replicas)", "needs an SRE's approval"} {
		if !strings.Contains(why, want) {
			t.Fatalf("the ejection's reasons lack %q:\n%s", want, why)
		}
	}
	if ps["queue/a"].State != Landed || ps["queue/c"].State != Landed {
		t.Fatalf("the proposals around the denied one: %+v %+v", ps["queue/a"], ps["queue/c"])
	}
	if got := r.file(t, "main", "release.cue"); got != strings.TrimSpace(releaseFile(3, map[int]int{0: 1, 2: 7})) {
		t.Fatalf("main's release.cue:\n%s", got)
	}
	if strings.Contains(r.file(t, "main", "service.cue"), "replicas: 5") {
		t.Fatal("the denied change reached main")
	}
	if _, err := run.repo.resolve(t.Context(), "refs/heads/queue/scale"); err != nil || gittest.Run(t, r.bare, "branch", "--list", "queue/scale") == "" {
		t.Fatal("the ejected proposal's branch was deleted: its author needs it to fix the change")
	}
}

// Two proposals set the same field to different values: the first lands,
// the second is ejected naming the field, the place on both sides and the
// commits.
func TestTheSameFieldSetTwoWaysEjectsTheSecondNamingBothPlaces(t *testing.T) {
	r := newDesiredRepo(t, 3)
	first := r.propose(t, "queue/one", map[string]string{"release.cue": releaseFile(3, map[int]int{1: 1})})
	second := r.propose(t, "queue/two", map[string]string{"release.cue": releaseFile(3, map[int]int{1: 2})})
	run := newRunner(t, r, Config{})
	ps := byBranch(drain(t, run))
	if ps["queue/one"].State != Landed {
		t.Fatalf("the first: %+v", ps["queue/one"])
	}
	p := ps["queue/two"]
	if p.State != Ejected || p.Reason != ReasonConflict {
		t.Fatalf("the second: %+v", p)
	}
	why := strings.Join(p.Reasons, "\n")
	for _, want := range []string{"field services.svc1.artifact", "release.cue:5:27", short(first), short(second), digest(1), digest(2)} {
		if !strings.Contains(why, want) {
			t.Fatalf("the conflict does not name %q:\n%s", want, why)
		}
	}
	if strings.Count(why, "release.cue:5:27") != 2 {
		t.Fatalf("the conflict should give the place on both sides:\n%s", why)
	}
}

// Where the trust file wants every new commit signed, an unsigned proposal
// is ejected naming its commit; a signed one, and the queue's own commits
// signed with its key, land.
func TestAnUnsignedProposalIsEjectedWhereTheTrustFileWantsSignatures(t *testing.T) {
	r := newDesiredRepo(t, 3)
	devKey, devLine := sshKey(t, "dev@example.test")
	queueKey, queueLine := sshKey(t, "durable@localhost")
	gittest.Run(t, r.work, "config", "gpg.format", "ssh")
	signed := signArgs(devKey)
	r.propose(t, "queue/1-signed", map[string]string{"release.cue": releaseFile(3, map[int]int{0: 1})}, signed...)
	unsigned := r.propose(t, "queue/2-unsigned", map[string]string{"release.cue": releaseFile(3, map[int]int{1: 1})})
	r.propose(t, "queue/3-later", map[string]string{"release.cue": releaseFile(3, map[int]int{2: 1})}, signed...)
	signer, err := sourceSigner(queueKey)
	if err != nil {
		t.Fatal(err)
	}
	run := newRunner(t, r, Config{Checker: Checker{Commits: commitTrust(t, devLine, queueLine)}, Signer: signer})
	ps := byBranch(drain(t, run))
	p := ps["queue/2-unsigned"]
	if p.State != Ejected || p.Reason != ReasonSignature || !strings.Contains(strings.Join(p.Reasons, "\n"), unsigned) {
		t.Fatalf("the unsigned proposal: %+v", p)
	}
	if ps["queue/1-signed"].State != Landed || ps["queue/3-later"].State != Landed {
		t.Fatalf("the signed proposals: %+v %+v", ps["queue/1-signed"], ps["queue/3-later"])
	}
	if ps["queue/3-later"].Method == MethodFastForward {
		t.Fatalf("the later proposal should have needed the queue's signed commit: %s %s %s %q", ps["queue/3-later"].State, ps["queue/3-later"].Method, ps["queue/3-later"].Reason, ps["queue/3-later"].Reasons)
	}
	// git itself accepts the queue's signature.
	allowed := t.TempDir() + "/allowed"
	writeFiles(t, "/", map[string]string{allowed: queueLine})
	gittest.Run(t, r.bare, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", "main")
}

// A main someone pushed broken does not make the next change a first
// revision: admission judges it against the newest commit of main that
// loads, so an infrastructure change is still denied; a fix lands.
func TestABrokenMainIsNotAFirstRevisionForAdmission(t *testing.T) {
	r := newDesiredRepo(t, 2)
	r.propose(t, "broken", map[string]string{"release.cue": "package quickstart\n\nservices: svc0: artifact: 42\n"})
	gittest.Run(t, r.bare, "update-ref", "refs/heads/main", "refs/heads/broken")
	scaled := strings.Replace(servicesFile(2), "replicas: 2", "replicas: 5", 1)
	r.propose(t, "queue/1-scale", map[string]string{"release.cue": releaseFile(2, nil), "service.cue": scaled})
	r.propose(t, "queue/2-fix", map[string]string{"release.cue": releaseFile(2, map[int]int{1: 3})})
	run := newRunner(t, r, Config{})
	ps := byBranch(drain(t, run))
	if p := ps["queue/1-scale"]; p.State != Ejected || p.Reason != ReasonAdmission {
		t.Fatalf("the scale-up on a broken main: %s %s %q", p.State, p.Reason, p.Reasons)
	}
	if p := ps["queue/2-fix"]; p.State != Landed {
		t.Fatalf("the fix: %s %s %q", p.State, p.Reason, p.Reasons)
	}
}
