package signing

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

const (
	githubIssuer    = "https://token.actions.githubusercontent.com"
	releaseWorkflow = "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
	trustedRootFile = "sigstore/trusted_root.json"
)

// keylessTrust is a trust file whose one rule, for every repository of
// host, trusts the keyless identities given as YAML flow mappings, checked
// against trustedRootFile, and requires the attestations listed.
func keylessTrust(host string, identities []string, predicateTypes ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "trustedRoot: %q\nartifacts:\n  - match: %q\n    keyless:\n", trustedRootFile, host+"/*/*")
	for _, id := range identities {
		fmt.Fprintf(&b, "      - %s\n", id)
	}
	if len(predicateTypes) > 0 {
		b.WriteString("    attestations:\n")
		for _, p := range predicateTypes {
			fmt.Fprintf(&b, "      - predicateType: %q\n", p)
		}
	}
	b.WriteString("commits:\n  mode: off\n")
	return b.String()
}

// exactly is the identity of one subject logged in through one issuer.
func exactly(subject, issuer string) string {
	return fmt.Sprintf("{issuer: %q, subject: %q}", issuer, subject)
}

func TestVerifyKeyless(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	s := newSigstore(t)
	s.writeTrustedRoot(t, dir, trustedRootFile)
	v := verifierFor(t, dir, keylessTrust(reg.host, []string{exactly(releaseWorkflow, githubIssuer)}))

	release := s.identity(t, releaseWorkflow, githubIssuer)
	otherWorkflow := s.identity(t, "https://github.com/acme/shop/.github/workflows/debug.yml@refs/heads/main", githubIssuer)
	otherIssuer := s.identity(t, releaseWorkflow, "https://token.actions.evil.example")
	legacy := s.ca.identity(t, s, releaseWorkflow, githubIssuer, true)
	// Another CA, logged and timestamped by the same log and authority.
	stranger := (&testSigstore{ca: newCA(t), log: s.log}).identity(t, releaseWorkflow, githubIssuer)
	// The right CA, logged and timestamped by a log and an authority the
	// trusted root does not list.
	otherLog, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	unlisted := (&testSigstore{ca: s.ca, log: otherLog}).identity(t, releaseWorkflow, githubIssuer)

	logged, timestamped, both := proof{tlog: true}, proof{timestamp: true}, proof{tlog: true, timestamp: true}
	for i, tc := range []struct {
		name   string
		sign   func(t *testing.T, d name.Digest)
		want   error
		format string
		detail string // in the refusal
	}{
		{"message bundle, logged and timestamped", func(t *testing.T, d name.Digest) { release.messageBundle(t, d, d, both) }, nil, FormatSigstoreBundle, ""},
		{"message bundle, logged", func(t *testing.T, d name.Digest) { release.messageBundle(t, d, d, logged) }, nil, FormatSigstoreBundle, ""},
		{"message bundle, timestamped", func(t *testing.T, d name.Digest) { release.messageBundle(t, d, d, timestamped) }, nil, FormatSigstoreBundle, ""},
		{"DSSE bundle (cosign v3), logged", func(t *testing.T, d name.Digest) {
			release.dsseBundle(t, d, statement(d, cosignSignPredicateType), logged)
		}, nil, FormatSigstoreBundle, ""},
		{"classic, logged", func(t *testing.T, d name.Digest) { release.signClassic(t, d, logged) }, nil, FormatCosignSig, ""},
		{"legacy issuer extension", func(t *testing.T, d name.Digest) { legacy.messageBundle(t, d, d, both) }, nil, FormatSigstoreBundle, ""},

		{"bundle without proof of time", func(t *testing.T, d name.Digest) { release.messageBundle(t, d, d, proof{}) }, ErrUntrusted, "", "no entry of a transparency log and no signed timestamp"},
		{"classic without transparency-log bundle", func(t *testing.T, d name.Digest) { release.signClassic(t, d, proof{}) }, ErrUntrusted, "", "carries no transparency-log bundle"},
		{"bundle, forged log entry, timestamped", func(t *testing.T, d name.Digest) {
			release.messageBundle(t, d, d, proof{tlog: true, timestamp: true, forged: true})
		}, ErrUntrusted, "", "not enough verified log entries"},
		{"classic, forged log entry", func(t *testing.T, d name.Digest) { release.signClassic(t, d, proof{tlog: true, forged: true}) }, ErrUntrusted, "", "unable to verify SET"},
		{"bundle, unlisted log and authority", func(t *testing.T, d name.Digest) { unlisted.messageBundle(t, d, d, both) }, ErrUntrusted, "", "threshold not met for verified signed & log entry integrated timestamps"},
		{"bundle, unlisted log", func(t *testing.T, d name.Digest) { unlisted.messageBundle(t, d, d, logged) }, ErrUntrusted, "", "no entry of a transparency log and no signed timestamp that the trusted root " + trustedRootFile + " lists"},
		{"bundle, wrong subject", func(t *testing.T, d name.Digest) { otherWorkflow.messageBundle(t, d, d, both) }, ErrUntrusted, "", "debug.yml@refs/heads/main (OIDC issuer " + githubIssuer + "), which is no keyless identity"},
		{"bundle, wrong issuer", func(t *testing.T, d name.Digest) {
			otherIssuer.dsseBundle(t, d, statement(d, cosignSignPredicateType), both)
		}, ErrUntrusted, "", "evil.example), which is no keyless identity"},
		{"classic, wrong subject", func(t *testing.T, d name.Digest) { otherWorkflow.signClassic(t, d, logged) }, ErrUntrusted, "", "which is no keyless identity"},
		{"classic, wrong issuer", func(t *testing.T, d name.Digest) { otherIssuer.signClassic(t, d, logged) }, ErrUntrusted, "", "which is no keyless identity"},
		{"bundle, another CA", func(t *testing.T, d name.Digest) { stranger.messageBundle(t, d, d, both) }, ErrUntrusted, "", "is not issued by a certificate authority of the trusted root " + trustedRootFile},
		{"classic, another CA", func(t *testing.T, d name.Digest) { stranger.signClassic(t, d, logged) }, ErrUntrusted, "", "is not issued by a certificate authority of the trusted root " + trustedRootFile},
		{"bundle of another digest", func(t *testing.T, d name.Digest) {
			release.messageBundle(t, d, reg.pushImage(t, "keyless/other", "v1"), both)
		}, ErrDigestMismatch, "", "signed by a certificate for " + releaseWorkflow},
		{"DSSE bundle about another digest", func(t *testing.T, d name.Digest) {
			release.dsseBundle(t, d, statement(reg.pushImage(t, "keyless/other", "v2"), cosignSignPredicateType), logged)
		}, ErrDigestMismatch, "", "signed by a certificate for " + releaseWorkflow},
		{"classic of another digest", func(t *testing.T, d name.Digest) {
			other := reg.pushImage(t, "keyless/other", "v3")
			release.signClassic(t, other, logged)
			copyTag(t, other.Context().Tag(sigTag(other)), d.Context().Tag(sigTag(d)))
		}, ErrDigestMismatch, "", "a signature by " + releaseWorkflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := reg.pushImage(t, "keyless/app", fmt.Sprintf("case%d", i))
			tc.sign(t, d)
			got, err := verifyRef(t, v, d)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.detail) {
					t.Errorf("err = %v, want it to say %q", err, tc.detail)
				}
				t.Log(err)
				return
			}
			if got.Format != tc.format {
				t.Errorf("format = %s, want %s", got.Format, tc.format)
			}
			want := Signer{Identity: releaseWorkflow + " (OIDC issuer " + githubIssuer + ")", Method: "keyless", Issuer: githubIssuer, Subject: releaseWorkflow}
			if key := got.Signer.Key; !strings.HasPrefix(key, "sha256:") {
				t.Errorf("signer key = %q, want the certificate's fingerprint", key)
			}
			got.Signer.Key = ""
			if got.Signer != want {
				t.Errorf("signer = %+v, want %+v", got.Signer, want)
			}
		})
	}
}

// TestVerifyKeylessWithKeys: the verdict's key is the signing
// certificate's fingerprint, and a rule may trust keys and identities
// together.
func TestVerifyKeylessWithKeys(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	s := newSigstore(t)
	s.writeTrustedRoot(t, dir, trustedRootFile)
	key := newKey(t, dir, "cosign", "p256", crypto.SHA256)
	trust := fmt.Sprintf("trustedRoot: %q\nartifacts:\n  - match: %q\n    keys: [%q]\n    keyless:\n      - %s\ncommits: {mode: off}\n",
		trustedRootFile, reg.host+"/*/*", key.file, exactly(releaseWorkflow, githubIssuer))
	v := verifierFor(t, dir, trust)

	release := s.identity(t, releaseWorkflow, githubIssuer)
	keyless := reg.pushImage(t, "mixed/app", "keyless")
	release.messageBundle(t, keyless, keyless, proof{tlog: true})
	byKey := reg.pushImage(t, "mixed/app", "key")
	signClassic(t, byKey, key)

	got, err := verifyRef(t, v, keyless)
	if err != nil {
		t.Fatal(err)
	}
	if got.Signer.Method != "keyless" || got.Signer.Key != fingerprint(release.cert.Raw) {
		t.Errorf("signer = %+v, want the certificate %s", got.Signer, fingerprint(release.cert.Raw))
	}
	if got, err := verifyRef(t, v, byKey); err != nil || got.Signer.Method != "cosign-key" {
		t.Errorf("signed by the key: %+v, %v", got.Signer, err)
	}

	// Under a rule that lists keys only, a keyless signature is refused
	// and the refusal says why.
	keysOnly := verifierFor(t, dir, trustYAML(reg.host, []testKey{key}))
	_, err = verifyRef(t, keysOnly, keyless)
	if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "the rule lists no keyless identity") {
		t.Fatalf("keys-only rule: err = %v, want ErrUntrusted saying the rule lists no keyless identity", err)
	}
}

// TestVerifyKeylessRegExp: expressions match whole values, so that a
// prefix or a substring is not enough.
func TestVerifyKeylessRegExp(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	s := newSigstore(t)
	s.writeTrustedRoot(t, dir, trustedRootFile)
	v := verifierFor(t, dir, keylessTrust(reg.host, []string{
		`{issuerRegExp: 'https://token\.actions\.githubusercontent\.com', subjectRegExp: 'https://github\.com/acme/[^/]+/\.github/workflows/release\.yml@refs/tags/v.+'}`,
		`{issuer: "https://accounts.google.com", subjectRegExp: '[^@]+@acme\.example'}`,
	}))
	for _, tc := range []struct {
		subject, issuer string
		trusted         bool
	}{
		{"https://github.com/acme/shop/.github/workflows/release.yml@refs/tags/v1.2.0", githubIssuer, true},
		{"https://github.com/acme/cart/.github/workflows/release.yml@refs/tags/v2", githubIssuer, true},
		{"alice@acme.example", "https://accounts.google.com", true},
		{"https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main", githubIssuer, false},
		{"https://github.com/acme/shop/.github/workflows/release.yml@refs/tags/v1.2.0", "https://token.actions.githubusercontent.com.evil.example", false},
		{"https://evil.example/?u=https://github.com/acme/shop/.github/workflows/release.yml@refs/tags/v1", githubIssuer, false},
		{"alice@acme.example.evil.example", "https://accounts.google.com", false},
		{"alice@acme.example", githubIssuer, false},
	} {
		t.Run(tc.subject+" from "+tc.issuer, func(t *testing.T) {
			d := reg.pushImage(t, "regexp/app", "v1")
			s.identity(t, tc.subject, tc.issuer).messageBundle(t, d, d, proof{tlog: true})
			got, err := verifyRef(t, v, d)
			switch {
			case tc.trusted && err != nil:
				t.Fatalf("err = %v, want trusted", err)
			case tc.trusted && (got.Signer.Subject != tc.subject || got.Signer.Issuer != tc.issuer):
				t.Errorf("signer = %+v", got.Signer)
			case !tc.trusted && !errors.Is(err, ErrUntrusted):
				t.Fatalf("err = %v, want ErrUntrusted", err)
			}
		})
	}
}

func TestVerifyKeylessAttestations(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	s := newSigstore(t)
	s.writeTrustedRoot(t, dir, trustedRootFile)
	v := verifierFor(t, dir, keylessTrust(reg.host, []string{exactly(releaseWorkflow, githubIssuer)}, slsa))
	release := s.identity(t, releaseWorkflow, githubIssuer)
	other := s.identity(t, "mallory@evil.example", "https://accounts.google.com")

	for _, tc := range []struct {
		name   string
		attest func(t *testing.T, d name.Digest)
		want   error
		format string
	}{
		{"as a bundle", func(t *testing.T, d name.Digest) { release.dsseBundle(t, d, statement(d, slsa), proof{tlog: true}) }, nil, FormatSigstoreBundle},
		{"classic", func(t *testing.T, d name.Digest) { release.attestClassic(t, d, statement(d, slsa)) }, nil, FormatCosignSig},
		{"bundle by another identity", func(t *testing.T, d name.Digest) { other.dsseBundle(t, d, statement(d, slsa), proof{tlog: true}) }, ErrAttestationMissing, ""},
		{"classic by another identity", func(t *testing.T, d name.Digest) { other.attestClassic(t, d, statement(d, slsa)) }, ErrAttestationMissing, ""},
		{"bundle without proof of time", func(t *testing.T, d name.Digest) { release.dsseBundle(t, d, statement(d, slsa), proof{}) }, ErrAttestationMissing, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := reg.pushImage(t, "attest/keyless", "v1")
			release.messageBundle(t, d, d, proof{tlog: true})
			tc.attest(t, d)
			got, err := verifyRef(t, v, d)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			if len(got.Attestations) != 1 {
				t.Fatalf("attestations = %+v", got.Attestations)
			}
			att := got.Attestations[0]
			if att.PredicateType != slsa || att.Format != tc.format || att.Signer.Method != "keyless" || att.Signer.Subject != releaseWorkflow {
				t.Errorf("attestation = %+v", att)
			}
		})
	}
}

func TestLoadTrustKeyless(t *testing.T) {
	dir := copyKeys(t)
	newSigstore(t).writeTrustedRoot(t, dir, trustedRootFile)
	file := filepath.Join(dir, "trust.yaml")
	writeFile(t, file, `artifacts:
  - match: "ghcr.io/acme/*"
    keyless:
      - issuer: "https://token.actions.githubusercontent.com"
        subject: "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
      - issuerRegExp: 'https://accounts\.google\.com'
        subjectRegExp: '.+@acme\.example'
  - match: "registry.example.com/*/*"
    keys: [keys/cosign.pub]
    keyless:
      - {issuer: "https://accounts.google.com", subject: "alice@acme.example"}
trustedRoot: "sigstore/trusted_root.json"
commits: {mode: off}
`)
	tr, err := LoadTrust(file)
	if err != nil {
		t.Fatal(err)
	}
	if tr.TrustedRoot != trustedRootFile || len(tr.Artifacts) != 2 {
		t.Fatalf("trust = %+v", tr)
	}
	acme := tr.Artifacts[0]
	if len(acme.Keys) != 0 || len(acme.Keyless) != 2 {
		t.Fatalf("first rule = %+v", acme)
	}
	if id := acme.Keyless[0]; id.Issuer != githubIssuer || id.Subject != releaseWorkflow || id.IssuerRegExp != "" || id.At != file+":4:9" {
		t.Errorf("first identity = %+v", id)
	}
	if id := acme.Keyless[1]; id.IssuerRegExp != `https://accounts\.google\.com` || id.SubjectRegExp != `.+@acme\.example` || id.Issuer != "" {
		t.Errorf("second identity = %+v", id)
	}
	if mixed := tr.Artifacts[1]; len(mixed.Keys) != 1 || len(mixed.Keyless) != 1 || mixed.Keyless[0].String() != `subject "alice@acme.example", issuer "https://accounts.google.com"` {
		t.Errorf("second rule = %+v", mixed)
	}
}

// TestKeylessPublicGoodBundle verifies, offline, a bundle the public
// Sigstore instance made, against the public-good trusted root read through
// a trust file: a real Fulcio certificate and a real Rekor entry. Both files
// come from sigstore-go's test data (pkg/testing/data): the SLSA provenance
// of the npm package sigstore 2.0.0, a DSSE bundle v0.1 whose subject is the
// package's SHA-512. It is not an OCI artifact, so the bundle is given to
// the keyless check directly rather than through a registry.
func TestKeylessPublicGoodBundle(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "sigstore", "sigstore-js-2.0.0-provenance.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle.Bundle{}
	if err := b.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	st, predicateType, err := statementOf(b.GetDsseEnvelope().GetPayloadType(), b.GetDsseEnvelope().GetPayload())
	if err != nil {
		t.Fatal(err)
	}
	vc, err := b.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	signed := &signedBundle{digest: "sigstore-js", bundle: b, cert: vc.Certificate(), predicateType: predicateType, statement: st}
	publicGood, err := filepath.Abs(filepath.Join("testdata", "sigstore", "public-good.json"))
	if err != nil {
		t.Fatal(err)
	}
	const (
		subject = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
		sha512  = "46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c"
	)

	check := func(t *testing.T, identity, digest string) *artifactCheck {
		t.Helper()
		file := filepath.Join(t.TempDir(), "trust.yaml")
		writeFile(t, file, fmt.Sprintf("trustedRoot: %q\nartifacts:\n  - match: \"registry.npmjs.org/*\"\n    keyless:\n      - %s\ncommits: {mode: off}\n", publicGood, identity))
		tr, err := LoadTrust(file)
		if err != nil {
			t.Fatal(err)
		}
		return &artifactCheck{rule: &tr.Artifacts[0], hash: v1.Hash{Algorithm: "sha512", Hex: digest}}
	}
	keylessCheck := func(t *testing.T, a *artifactCheck) *Signer {
		t.Helper()
		policy, err := a.artifactPolicy(signed)
		if err != nil {
			t.Fatal(err)
		}
		return a.bundleKeyless(signed, policy)
	}

	t.Run("trusted", func(t *testing.T) {
		a := check(t, `{issuer: "https://token.actions.githubusercontent.com", subjectRegExp: 'https://github\.com/sigstore/sigstore-js/\.github/workflows/release\.yml@refs/heads/.+'}`, sha512)
		signer := keylessCheck(t, a)
		if signer == nil || signer.Subject != subject || signer.Issuer != githubIssuer || signer.Method != "keyless" {
			t.Fatalf("signer = %+v; untrusted: %v", signer, a.untrusted)
		}
	})
	t.Run("another workflow", func(t *testing.T) {
		a := check(t, exactly("https://github.com/sigstore/sigstore-js/.github/workflows/other.yml@refs/heads/main", githubIssuer), sha512)
		if signer := keylessCheck(t, a); signer != nil || len(a.untrusted) != 1 || !strings.Contains(a.untrusted[0], "which is no keyless identity") {
			t.Fatalf("signer = %+v; untrusted: %v", signer, a.untrusted)
		}
	})
	t.Run("another digest", func(t *testing.T) {
		a := check(t, exactly(subject, githubIssuer), strings.Repeat("0", 128))
		if signer := keylessCheck(t, a); signer != nil || len(a.mismatches) != 1 || !strings.Contains(a.mismatches[0], "is for sha512:"+sha512) {
			t.Fatalf("signer = %+v; mismatches: %v; untrusted: %v", signer, a.mismatches, a.untrusted)
		}
	})
}

// TestVerifyKeylessConcurrent shares one Verifier, and so one trusted root,
// between goroutines verifying keyless signatures of both formats (run with
// -race).
func TestVerifyKeylessConcurrent(t *testing.T) {
	reg := newRegistry(t)
	dir := t.TempDir()
	s := newSigstore(t)
	s.writeTrustedRoot(t, dir, trustedRootFile)
	v := verifierFor(t, dir, keylessTrust(reg.host, []string{exactly(releaseWorkflow, githubIssuer)}))
	release := s.identity(t, releaseWorkflow, githubIssuer)
	var refs []name.Digest
	for i := range 4 {
		d := reg.pushImage(t, "concurrent/app", fmt.Sprintf("v%d", i))
		if i%2 == 0 {
			release.messageBundle(t, d, d, proof{tlog: true, timestamp: true})
		} else {
			release.signClassic(t, d, proof{tlog: true})
		}
		refs = append(refs, d)
	}
	errs := make(chan error, 16)
	for i := range cap(errs) {
		go func() {
			_, err := verifyRef(t, v, refs[i%len(refs)])
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
