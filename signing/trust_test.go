package signing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadTrustExample(t *testing.T) {
	tr, err := LoadTrust(filepath.Join("testdata", "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Artifacts) != 2 {
		t.Fatalf("artifacts = %+v", tr.Artifacts)
	}
	quickstart := tr.Artifacts[0]
	if quickstart.Match != "127.0.0.1:*/quickstart/*" || len(quickstart.Keys) != 1 || quickstart.Keys[0].File != "keys/cosign.pub" ||
		!strings.HasPrefix(quickstart.Keys[0].Fingerprint, "sha256:") || len(quickstart.Attestations) != 1 {
		t.Errorf("first rule = %+v", quickstart)
	}
	if quickstart.At != filepath.Join("testdata", "trust.yaml")+":4:5" {
		t.Errorf("first rule at %s", quickstart.At)
	}
	if tr.Commits.Mode != CommitsHead || len(tr.Commits.openpgp) != 1 || len(tr.Commits.ssh) != 1 {
		t.Errorf("commits = %+v", tr.Commits)
	}
	if s := tr.Commits.ssh[0]; s.principals != "bob@example.com" || len(s.namespaces) != 1 || s.namespaces[0] != "git" {
		t.Errorf("allowed signer = %+v", s)
	}

	for repo, want := range map[string]int{
		"127.0.0.1:5000/quickstart/web":  0,
		"registry.example.com/team/api":  1,
		"127.0.0.1:5000/quickstart/a/b":  -1, // * stays within a segment
		"registry.example.com/team":      -1,
		"evil.example.com/quickstart/db": -1,
	} {
		i, _, err := tr.rule(repo)
		if want < 0 {
			if !errors.Is(err, ErrNoTrustRule) {
				t.Errorf("rule(%s) err = %v, want ErrNoTrustRule", repo, err)
			}
			continue
		}
		if err != nil || i != want {
			t.Errorf("rule(%s) = %d, %v; want %d", repo, i, err, want)
		}
	}
}

func TestLoadTrustJSON(t *testing.T) {
	tr, err := LoadTrust(filepath.Join("testdata", "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Artifacts) != 1 || tr.Commits.Mode != CommitsStrict {
		t.Errorf("trust = %+v", tr)
	}
}

// TestLoadTrustCommitOnly: "artifacts: unverified" is commit-only trust,
// said explicitly; a missing artifacts field is still no rule at all.
func TestLoadTrustCommitOnly(t *testing.T) {
	dir := copyKeys(t)
	file := filepath.Join(dir, "trust.yaml")
	writeFile(t, filepath.Join(dir, "allowed_signers"), "sre@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbMJ9Z8ZrXbX1X+Zyq3K8zq2h8pPpY0p8xq9VY0b5Zq\n")
	writeFile(t, file, "artifacts: unverified\ncommits: {mode: head, ssh: allowed_signers}\n")
	tr, err := LoadTrust(file)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.ArtifactsUnverified || len(tr.Artifacts) != 0 {
		t.Errorf("trust = %+v, want artifacts unverified and no rule", tr)
	}
	writeFile(t, file, "commits: {mode: off}\n")
	if tr, err = LoadTrust(file); err != nil || tr.ArtifactsUnverified {
		t.Errorf("without artifacts: trust = %+v, %v; want artifacts verified (by no rule)", tr, err)
	}
}

func TestLoadTrustDockerHub(t *testing.T) {
	dir := copyKeys(t)
	writeFile(t, filepath.Join(dir, "trust.yaml"), "artifacts:\n  - match: docker.io/library/*\n    keys: [keys/cosign.pub]\ncommits: {mode: off}\n")
	tr, err := LoadTrust(filepath.Join(dir, "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr.rule("index.docker.io/library/alpine"); err != nil {
		t.Error(err)
	}
}

// TestLoadTrustErrors: every mistake is reported with its file:line:col and
// what to do.
func TestLoadTrustErrors(t *testing.T) {
	s := newSigstore(t)
	withRoot := map[string]string{"sigstore/trusted_root.json": s.trustedRootJSON(t, true)}
	for _, tc := range []struct {
		name  string
		trust string
		files map[string]string
		want  []string // each a prefix of one reported line, after the folder
	}{
		{
			name:  "broken YAML",
			trust: "artifacts:\n  - match: \"a/*\n    keys: [x]\n",
			// The parser positions the error where the unclosed quote starts.
			want: []string{"trust.yaml:2:1: found unexpected end of stream; fix the YAML syntax"},
		},
		{
			name:  "bad indentation",
			trust: "artifacts:\n  - match: a/*\n   keys: [keys/cosign.pub]\ncommits: {mode: off}\n",
			// The parser reports the line of the enclosing block, not of the
			// misindented key.
			want: []string{"trust.yaml:1:1: did not find expected '-' indicator; fix the YAML syntax"},
		},
		{
			name:  "unknown top-level field",
			trust: "artifact:\n  - match: a/*\ncommits: {mode: off}\n",
			want:  []string{`trust.yaml:1:1: the trust file: unknown field "artifact"; the fields are trustedRoot, artifacts, commits`},
		},
		{
			name:  "artifacts a word other than unverified",
			trust: "artifacts: unverifed\ncommits: {mode: off}\n",
			want:  []string{`trust.yaml:1:12: artifacts: "unverifed" is neither a list of rules (- match: ... keys: [...]) nor the word unverified`},
		},
		{
			name:  "artifacts unverified, not a string",
			trust: "artifacts: true\ncommits: {mode: off}\n",
			want:  []string{`trust.yaml:1:12: artifacts: "true" is neither a list of rules`},
		},
		{
			name:  "artifacts unverified, commits off",
			trust: "commits: {mode: off}\nartifacts: unverified\n",
			want:  []string{`trust.yaml:2:12: artifacts: unverified with commits mode off verifies nothing; verify commits`},
		},
		{
			name:  "artifacts an oversized word",
			trust: "artifacts: " + strings.Repeat("x", 100000) + "\ncommits: {mode: off}\n",
			want:  []string{`trust.yaml:1:12: artifacts: "` + strings.Repeat("x", 64) + `" is neither`},
		},
		{
			name:  "unknown rule field",
			trust: "artifacts:\n  - match: a/*\n    keys: [keys/cosign.pub]\n    kyes: [keys/cosign.pub]\ncommits: {mode: off}\n",
			want:  []string{`trust.yaml:4:5: artifacts[0]: unknown field "kyes"; the fields are match, keys, keyless, attestations`},
		},
		{
			name:  "unknown attestation field",
			trust: "artifacts:\n  - match: a/*\n    keys: [keys/cosign.pub]\n    attestations:\n      - predicate: x\ncommits: {mode: off}\n",
			want: []string{
				`trust.yaml:5:9: artifacts[0].attestations[0]: unknown field "predicate"; the fields are predicateType`,
				`trust.yaml:5:9: artifacts[0].attestations[0]: predicateType is missing`,
			},
		},
		{
			name:  "missing key file",
			trust: "artifacts:\n  - match: a/*\n    keys: [keys/cosign.pub, keys/missing.pub]\ncommits: {mode: off}\n",
			want:  []string{"trust.yaml:3:29: artifacts[0].keys[1]: keys/missing.pub does not exist; check the path"},
		},
		{
			name:  "bad PEM",
			trust: "artifacts:\n  - match: a/*\n    keys:\n      - keys/bad.pub\ncommits: {mode: off}\n",
			files: map[string]string{"keys/bad.pub": "ssh-ed25519 AAAA not a cosign key\n"},
			want:  []string{"trust.yaml:4:9: artifacts[0].keys[0]: keys/bad.pub has no PEM block; a cosign public key starts with -----BEGIN PUBLIC KEY-----"},
		},
		{
			name:  "corrupt key",
			trust: "artifacts:\n  - match: a/*\n    keys: [keys/bad.pub]\ncommits: {mode: off}\n",
			files: map[string]string{"keys/bad.pub": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
			want:  []string{"trust.yaml:3:12: artifacts[0].keys[0]: keys/bad.pub is not a readable PKIX public key"},
		},
		{
			name:  "private key",
			trust: "artifacts:\n  - match: a/*\n    keys: [keys/cosign.key]\ncommits: {mode: off}\n",
			files: map[string]string{"keys/cosign.key": "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"},
			want:  []string{"trust.yaml:3:12: artifacts[0].keys[0]: keys/cosign.key holds a private key (ENCRYPTED SIGSTORE PRIVATE KEY); list the public key"},
		},
		{
			name:  "no keys",
			trust: "artifacts:\n  - match: a/*\n    keys: []\n  - match: b/*\ncommits: {mode: off}\n",
			want: []string{
				"trust.yaml:3:11: artifacts[0].keys is empty",
				"trust.yaml:4:5: artifacts[1]: keys is missing",
			},
		},
		{
			name:  "bad patterns",
			trust: "artifacts:\n  - match: \"a/[\"\n    keys: [keys/cosign.pub]\n  - match: nohost\n    keys: [keys/cosign.pub]\n  - match: a/web:latest\n    keys: [keys/cosign.pub]\n  - keys: [keys/cosign.pub]\ncommits: {mode: off}\n",
			want: []string{
				`trust.yaml:2:12: artifacts[0].match: "a/[" is not a valid glob`,
				`trust.yaml:4:12: artifacts[1].match: "nohost" has no registry host`,
				`trust.yaml:6:12: artifacts[2].match: "a/web:latest" names a tag or digest`,
				`trust.yaml:8:5: artifacts[3]: match is missing`,
			},
		},
		{
			name:  "keyless without trusted root",
			trust: "artifacts:\n  - match: a/*\n    keyless:\n      - {issuer: \"https://accounts.google.com\", subject: alice@example.com}\ncommits: {mode: off}\n",
			want:  []string{"trust.yaml:4:7: artifacts[0].keyless needs a Sigstore trusted root to check certificates against; add trustedRoot: "},
		},
		{
			name:  "missing trusted root",
			trust: "trustedRoot: sigstore/missing.json\nartifacts:\n  - match: a/*\n    keyless: [{issuer: \"https://accounts.google.com\", subject: alice@example.com}]\ncommits: {mode: off}\n",
			want:  []string{"trust.yaml:1:14: trustedRoot: sigstore/missing.json does not exist; check the path"},
		},
		{
			name:  "not a trusted root",
			trust: "trustedRoot: keys/cosign.pub\ncommits: {mode: off}\n",
			want:  []string{"trust.yaml:1:14: trustedRoot: keys/cosign.pub is not a Sigstore trusted root ("},
		},
		{
			name:  "trusted root of another kind",
			trust: "trustedRoot: sigstore/root.json\ncommits: {mode: off}\n",
			files: map[string]string{"sigstore/root.json": `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}`},
			want:  []string{"trust.yaml:1:14: trustedRoot: sigstore/root.json is not a Sigstore trusted root (unsupported TrustedRoot media type"},
		},
		{
			name:  "trusted root without CA",
			trust: "trustedRoot: sigstore/root.json\ncommits: {mode: off}\n",
			files: map[string]string{"sigstore/root.json": `{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`},
			want:  []string{"trust.yaml:1:14: trustedRoot: sigstore/root.json lists no certificate authority"},
		},
		{
			name:  "trusted root without log or timestamp authority",
			trust: "trustedRoot: sigstore/root.json\ncommits: {mode: off}\n",
			files: map[string]string{"sigstore/root.json": s.trustedRootJSON(t, false)},
			want:  []string{"trust.yaml:1:14: trustedRoot: sigstore/root.json lists no transparency log (tlogs) and no timestamp authority (timestampAuthorities); no keyless signature could prove when it was made"},
		},
		{
			name: "bad keyless identities",
			trust: `trustedRoot: sigstore/trusted_root.json
artifacts:
  - match: a/*
    keyless:
      - issuer: "https://accounts.google.com"
        issuerRegExp: "https://accounts\\.google\\.com"
        subject: alice@example.com
      - issuer: "https://accounts.google.com"
      - issuer: "https://accounts.google.com"
        subjectRegExp: "(alice"
      - {issuer: "https://accounts.google.com", subject: alice@example.com, san: alice}
      - alice@example.com
      - issuer: "https://accounts.google.com"
        subject: [alice@example.com]
  - match: b/*
    keyless: []
commits: {mode: off}
`,
			files: withRoot,
			want: []string{
				"trust.yaml:6:23: artifacts[0].keyless[0]: issuer and issuerRegExp are both set; keep one",
				`trust.yaml:8:9: artifacts[0].keyless[1]: subject is missing; write subject: "https://github.com/ORG/REPO/.github/workflows/release.yml@refs/heads/main", or subjectRegExp`,
				`trust.yaml:10:24: artifacts[0].keyless[2].subjectRegExp: "(alice" is not a valid regular expression (error parsing regexp: missing closing ): ` + "`(alice`" + `); use Go's RE2 syntax`,
				`trust.yaml:11:77: artifacts[0].keyless[3]: unknown field "san"; the fields are issuer, issuerRegExp, subject, subjectRegExp`,
				"trust.yaml:12:9: artifacts[0].keyless[4] must be a mapping with the fields issuer, issuerRegExp, subject, subjectRegExp",
				"trust.yaml:14:18: artifacts[0].keyless[5].subject must be a string, not a list or mapping",
				"trust.yaml:16:14: artifacts[1].keyless is empty; list at least one identity",
			},
		},
		{
			name:  "duplicate rule",
			trust: "artifacts:\n  - match: a/*\n    keys: [keys/cosign.pub]\n  - match: a/*\n    keys: [keys/cosign.pub]\ncommits: {mode: off}\n",
			want:  []string{`trust.yaml:4:5: match "a/*" repeats the rule at `},
		},
		{
			name:  "duplicate field",
			trust: "artifacts:\n  - match: a/*\n    match: b/*\n    keys: [keys/cosign.pub]\ncommits: {mode: off}\n",
			want:  []string{"trust.yaml:3:5: artifacts[0]: field match is set twice; keep one"},
		},
		{
			name:  "commits missing",
			trust: "artifacts: []\n",
			want:  []string{"trust.yaml:1:1: commits is missing"},
		},
		{
			name:  "bad mode",
			trust: "commits:\n  mode: always\n",
			want:  []string{`trust.yaml:2:9: commits.mode: "always" is not a mode; write head, strict or off`},
		},
		{
			name:  "mode without keys",
			trust: "commits:\n  mode: strict\n",
			want:  []string{"trust.yaml:2:3: commits: mode strict needs keys"},
		},
		{
			name:  "bad OpenPGP key",
			trust: "commits:\n  mode: head\n  openpgp: [keys/cosign.pub]\n",
			want:  []string{"trust.yaml:3:13: commits.openpgp[0]: keys/cosign.pub is not an armored OpenPGP public key"},
		},
		{
			name:  "bad allowed signers",
			trust: "commits:\n  mode: head\n  ssh: keys/signers\n",
			files: map[string]string{"keys/signers": "# team\nbob@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFYzmHpa2ntU2JoqCz6i1G358pz1kxyBd3mvqYUO+3j+\n  carol@example.com ssh-ed25519 notbase64\ndave@example.com cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFYzmHpa2ntU2JoqCz6i1G358pz1kxyBd3mvqYUO+3j+\n"},
			want: []string{
				"keys/signers:3:3: cannot parse the key after \"carol@example.com\"",
				`keys/signers:4:1: option "cert-authority" is not supported`,
			},
		},
		{
			name:  "empty",
			trust: "# nothing\n",
			want:  []string{"trust.yaml: the trust file is empty"},
		},
		{
			name:  "wrong type",
			trust: "artifacts:\n  match: a/*\ncommits:\n  mode: [head]\n",
			want: []string{
				"trust.yaml:2:3: artifacts must be a list",
				"trust.yaml:4:9: commits.mode must be a string, not a list or mapping",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyKeys(t)
			for name, content := range tc.files {
				writeFile(t, filepath.Join(dir, name), content)
			}
			file := filepath.Join(dir, "trust.yaml")
			writeFile(t, file, tc.trust)
			_, err := LoadTrust(file)
			var errs TrustErrors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v (%T), want TrustErrors", err, err)
			}
			got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors:\n%s\nwant a line containing\n%s", got, w)
				}
			}
			if len(errs) != len(tc.want) {
				t.Errorf("%d errors, want %d:\n%s", len(errs), len(tc.want), got)
			}
		})
	}
}

// copyKeys copies testdata/keys into a new folder and returns the folder.
func copyKeys(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(filepath.Join("testdata", "keys"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata", "keys", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "keys", e.Name()), string(data))
	}
	return dir
}

// TestLoadTrustRefusesFilesOthersCouldWrite: a trust file, or a key it
// names, that another local user could write is refused, saying how to fix
// it; so is the key of durable verify --key.
func TestLoadTrustRefusesFilesOthersCouldWrite(t *testing.T) {
	const trust = "artifacts:\n  - match: a/*\n    keys: [keys/cosign.pub]\ncommits: {mode: off}\n"
	for _, tc := range []struct {
		name  string
		file  string // under the folder, made unsafe
		mode  os.FileMode
		chown bool // give the file to nobody instead
		want  string
	}{
		{name: "world-writable trust file", file: "trust.yaml", mode: 0o666,
			want: "trust file trust.yaml is writable by group or others (mode 0666): any local user could add a signing key; chmod go-w trust.yaml"},
		{name: "group-writable trust file", file: "trust.yaml", mode: 0o664, want: "(mode 0664)"},
		{name: "trust file of another user", file: "trust.yaml", chown: true, want: "trust file trust.yaml is owned by uid 65534"},
		{name: "world-writable key", file: "keys/cosign.pub", mode: 0o666,
			want: "trust.yaml:3:12: artifacts[0].keys[0]: key file keys/cosign.pub is writable by group or others (mode 0666): any local user could swap in a signing key of their own; chmod go-w keys/cosign.pub"},
		{name: "key in a world-writable folder", file: "keys", mode: 0o777, want: "the directory of key file keys/cosign.pub keys is writable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chown && os.Geteuid() != 0 {
				t.Skip("giving a file to another user needs root; CI runs as root")
			}
			dir := copyKeys(t)
			file := filepath.Join(dir, "trust.yaml")
			writeFile(t, file, trust)
			unsafe := filepath.Join(dir, tc.file)
			var err error
			if tc.chown {
				err = os.Chown(unsafe, 65534, 65534)
			} else {
				err = os.Chmod(unsafe, tc.mode)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadTrust(file)
			if got := strings.ReplaceAll(fmt.Sprint(err), dir+string(filepath.Separator), ""); !strings.Contains(got, tc.want) {
				t.Fatalf("LoadTrust: %s\nwant an error containing\n%s", got, tc.want)
			}
		})
	}

	t.Run("verify --key", func(t *testing.T) {
		dir := copyKeys(t)
		key := filepath.Join(dir, "keys", "cosign.pub")
		if err := os.Chmod(key, 0o646); err != nil {
			t.Fatal(err)
		}
		_, err := KeyTrust("127.0.0.1:5000/a", key)
		if want := "--key: key file " + key + " is writable by group or others (mode 0646)"; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("KeyTrust: %v, want an error containing %q", err, want)
		}
	})
}
