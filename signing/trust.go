package signing

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// Trust is the trust file: which keys and keyless identities may sign which
// artifacts, and which keys may sign commits. It lives on the reconciler
// host, never in the repository it protects. A Trust is immutable once
// loaded; a changed file is a new Trust, and a new Verifier built from it, so
// removing a key or an identity takes effect at once.
type Trust struct {
	// File is the path the trust was loaded from.
	File string
	// TrustedRoot is the Sigstore trusted root file, as the trust file names
	// it, that keyless identities are checked against; empty when the trust
	// file names none.
	TrustedRoot string
	// Artifacts are the artifact rules in file order; the first whose Match
	// matches a repository applies to it.
	Artifacts []ArtifactRule
	// ArtifactsUnverified is set by "artifacts: unverified": the operator
	// trusts commits only, and no artifact is verified. Artifacts is then
	// empty.
	ArtifactsUnverified bool
	// Commits says how commits are verified.
	Commits CommitTrust
}

// ArtifactRule trusts Keys and Keyless identities to sign the artifacts of
// the repositories Match covers, and requires the attestations listed.
type ArtifactRule struct {
	// Match is a glob on the repository (host/path, without tag or digest)
	// with path.Match semantics: * matches within one path segment, so
	// "127.0.0.1:*/quickstart/*" covers 127.0.0.1:5000/quickstart/web but not
	// 127.0.0.1:5000/quickstart/web/debug. Docker Hub repositories match as
	// docker.io/library/NAME as well as index.docker.io/library/NAME.
	Match string
	// Keys may each sign alone; list the old and the new key while rotating.
	Keys []PublicKey
	// Keyless are the identities whose Sigstore certificates, issued under
	// the trust file's trusted root, may each sign alone.
	Keyless []KeylessIdentity
	// Attestations are the in-toto predicate types that must each be attested
	// by one of Keys or Keyless.
	Attestations []string
	// At is where the rule is written, file:line:col, for messages.
	At string

	line, col int
	sigstore  *sigstoreRoot // the trust file's trusted root, when Keyless is set
}

// maxTrustFile bounds the size of the trust file and of every key file it
// names: they are small, and a mistake (a log file listed as a key) must not
// fill memory.
const maxTrustFile = 1 << 20

// LoadTrust reads a trust file (YAML, or JSON, which is YAML too):
//
//	trustedRoot: "sigstore/trusted_root.json"   # for keyless identities
//	artifacts:
//	  - match: "127.0.0.1:*/quickstart/*"
//	    keys: ["keys/cosign.pub", "keys/cosign-2025.pub"]
//	    attestations:
//	      - predicateType: "https://slsa.dev/provenance/v1"
//	  - match: "ghcr.io/acme/*"
//	    keyless:
//	      - issuer: "https://token.actions.githubusercontent.com"   # or issuerRegExp
//	        subject: "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"   # or subjectRegExp
//	commits:
//	  mode: head                      # head | strict | off
//	  openpgp: ["keys/alice.asc"]
//	  ssh: "keys/allowed_signers"
//
// For commit-only trust, artifacts is the word unverified instead of a list
// (artifacts: unverified): no artifact is verified, and status says so;
// commits must then be verified (mode head or strict), or nothing would be.
//
// A rule lists keys, keyless identities or both. trustedRoot is a Sigstore
// TrustedRoot JSON file (the trusted_root.json target of the Sigstore TUF
// repository for the public instance; cosign trusted-root create makes one
// for a private deployment); it is required as soon as a rule lists keyless
// identities, and read once, here: nothing is fetched at verification time.
//
// Paths are relative to the trust file's folder. Every problem, in the trust
// file or in a file it names, is reported as a TrustErrors whose entries say
// file:line:col, what is wrong, and how to fix it.
func LoadTrust(file string) (*Trust, error) {
	data, err := readBounded(file, "trust file", addKey)
	if err != nil {
		return nil, TrustErrors{{File: file, Message: err.Error()}}
	}
	return parseTrust(data, file)
}

// parseTrust reads data, the content of the trust file file, as LoadTrust
// does; the files it names are read relative to file's folder.
func parseTrust(data []byte, file string) (*Trust, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, TrustErrors{yamlSyntaxError(file, err)}
	}
	l := &loader{file: file, dir: filepath.Dir(file), pgp: map[string]bool{}, cosign: map[string]PublicKey{}}
	t := &Trust{File: file}
	if len(doc.Content) == 0 {
		l.errs = append(l.errs, TrustError{File: file, Message: "the trust file is empty; declare artifacts: and commits: (see the signing package documentation)"})
		return nil, l.errs
	}
	root := l.mapping(doc.Content[0], "the trust file", "trustedRoot", "artifacts", "commits")
	// The trusted root is read before the rules, which point at it, wherever
	// the file writes it.
	if n, ok := root["trustedRoot"]; ok {
		l.rootDeclared = true
		if l.sigstore = l.trustedRoot(n); l.sigstore != nil {
			t.TrustedRoot = l.sigstore.file
		}
	}
	if n, ok := root["artifacts"]; ok && n.Kind == yaml.ScalarNode {
		t.ArtifactsUnverified = l.unverified(n)
	} else if ok {
		for i, item := range l.sequence(n, "artifacts") {
			if rule, ok := l.artifactRule(item, fmt.Sprintf("artifacts[%d]", i)); ok {
				t.Artifacts = append(t.Artifacts, rule)
			}
		}
	}
	if n, ok := root["commits"]; ok {
		t.Commits = l.commits(n)
	} else if doc.Content[0].Kind == yaml.MappingNode {
		l.errorf(doc.Content[0], "commits is missing; add commits: {mode: head, openpgp: [...], ssh: ...}, or commits: {mode: off} to verify no commit")
	}
	if n := root["artifacts"]; t.ArtifactsUnverified && t.Commits.Mode == CommitsOff {
		l.errorf(n, "artifacts: unverified with commits mode off verifies nothing; verify commits (mode: head with openpgp: or ssh: keys), or run durable run --insecure-skip-verify without a trust file, which status shows as a warning")
	}
	l.checkDuplicateRules(t.Artifacts)
	if len(l.errs) > 0 {
		slices.SortStableFunc(l.errs, func(a, b TrustError) int {
			return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, l.errs
	}
	return t, nil
}

// KeyTrust is the trust of a single cosign public key for a single
// repository (host/path), and of no commit: what `durable verify --key`
// checks an artifact against, without a trust file. keyFile is read now;
// the key's identity in a Verdict, and the rule's place in messages, are
// keyFile as given.
func KeyTrust(repo, keyFile string) (*Trust, error) {
	data, err := readBounded(keyFile, "key file", swapKey)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	k, err := parsePublicKey(keyFile, data)
	if err != nil {
		return nil, fmt.Errorf("--key: %s %w", keyFile, err)
	}
	rule := ArtifactRule{Match: repo, Keys: []PublicKey{k}, At: "--key " + keyFile}
	return &Trust{Artifacts: []ArtifactRule{rule}, Commits: CommitTrust{Mode: CommitsOff}}, nil
}

// rule returns the first rule matching repo, and its index.
func (t *Trust) rule(repo string) (int, *ArtifactRule, error) {
	names := []string{repo}
	if rest, ok := strings.CutPrefix(repo, "index.docker.io/"); ok {
		names = append(names, "docker.io/"+rest)
	}
	for i := range t.Artifacts {
		for _, n := range names {
			if ok, _ := path.Match(t.Artifacts[i].Match, n); ok {
				return i, &t.Artifacts[i], nil
			}
		}
	}
	return 0, nil, fmt.Errorf("%w %s; add one to the trust file %s (artifacts: - match: ...)", ErrNoTrustRule, repo, t.File)
}

// loader walks the YAML tree of a trust file, collecting every problem with
// its position instead of stopping at the first.
type loader struct {
	file   string
	dir    string
	errs   TrustErrors
	cosign map[string]PublicKey // key files already read, by path as written
	pgp    map[string]bool      // OpenPGP key files already read

	rootDeclared bool          // the trust file sets trustedRoot, readable or not
	sigstore     *sigstoreRoot // the trusted root, once read without error
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	l.errs = append(l.errs, TrustError{File: l.file, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
}

// mapping returns the values of a mapping node by key, reporting a node that
// is not a mapping, duplicate keys and keys not in known.
func (l *loader) mapping(n *yaml.Node, where string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind == yaml.AliasNode {
		l.errorf(n, "%s: YAML aliases are not supported in the trust file; write the value out", where)
		return out
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s must be a mapping with the fields %s", where, strings.Join(known, ", "))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(known, k.Value):
			l.errorf(k, "%s: unknown field %q; the fields are %s", where, k.Value, strings.Join(known, ", "))
		case out[k.Value] != nil:
			l.errorf(k, "%s: field %s is set twice; keep one", where, k.Value)
		default:
			out[k.Value] = v
		}
	}
	return out
}

// unverified reports whether the scalar artifacts node n is the word
// unverified, the explicit form of commit-only trust; any other word is an
// error that shows both forms.
func (l *loader) unverified(n *yaml.Node) bool {
	if n.Tag == "!!str" && n.Value == "unverified" {
		return true
	}
	l.errorf(n, "artifacts: %.64q is neither a list of rules (- match: ... keys: [...]) nor the word unverified (commit-only trust: no artifact verified)", n.Value)
	return false
}

// sequence returns the items of a sequence node.
func (l *loader) sequence(n *yaml.Node, where string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "%s must be a list (- item, or [a, b])", where)
		return nil
	}
	return n.Content
}

// str returns the value of a non-empty string scalar.
func (l *loader) str(n *yaml.Node, where string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, "%s must be a string, not a list or mapping", where)
		return "", false
	}
	if n.Tag != "!!str" {
		l.errorf(n, "%s must be a string; quote it", where)
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		l.errorf(n, "%s is empty", where)
		return "", false
	}
	return n.Value, true
}

func (l *loader) artifactRule(n *yaml.Node, where string) (ArtifactRule, bool) {
	fields := l.mapping(n, where, "match", "keys", "keyless", "attestations")
	rule := ArtifactRule{At: fmt.Sprintf("%s:%d:%d", l.file, n.Line, n.Column), line: n.Line, col: n.Column}
	before := len(l.errs)
	if m, ok := fields["match"]; !ok {
		l.errorf(n, "%s: match is missing; add the repository glob, e.g. match: \"registry.example.com/team/*\"", where)
	} else if pattern, ok := l.str(m, where+".match"); ok {
		rule.Match = pattern
		l.checkPattern(m, where+".match", pattern)
	}
	if k, ok := fields["keys"]; !ok {
		if _, keyless := fields["keyless"]; !keyless {
			l.errorf(n, "%s: keys is missing; list the cosign public key files that may sign these artifacts (keys: [...]), or the keyless identities (keyless: - issuer: ... subject: ...)", where)
		}
	} else {
		items := l.sequence(k, where+".keys")
		if k.Kind == yaml.SequenceNode && len(items) == 0 {
			l.errorf(k, "%s.keys is empty; list at least one cosign public key file", where)
		}
		for i, item := range items {
			if key, ok := l.cosignKey(item, fmt.Sprintf("%s.keys[%d]", where, i)); ok {
				rule.Keys = append(rule.Keys, key)
			}
		}
	}
	if k, ok := fields["keyless"]; ok {
		rule.Keyless = l.keyless(k, where+".keyless")
		rule.sigstore = l.sigstore
	}
	if a, ok := fields["attestations"]; ok {
		for i, item := range l.sequence(a, where+".attestations") {
			at := fmt.Sprintf("%s.attestations[%d]", where, i)
			f := l.mapping(item, at, "predicateType")
			p, ok := f["predicateType"]
			if !ok {
				if item.Kind == yaml.MappingNode {
					l.errorf(item, "%s: predicateType is missing; write e.g. predicateType: \"https://slsa.dev/provenance/v1\"", at)
				}
				continue
			}
			if s, ok := l.str(p, at+".predicateType"); ok {
				rule.Attestations = append(rule.Attestations, s)
			}
		}
	}
	return rule, len(l.errs) == before
}

// checkPattern refuses globs that can never match a repository name.
func (l *loader) checkPattern(n *yaml.Node, where, pattern string) {
	if _, err := path.Match(pattern, ""); err != nil {
		l.errorf(n, "%s: %q is not a valid glob (%v); use * and ? and [...] as in path.Match", where, pattern, err)
		return
	}
	last := pattern[strings.LastIndex(pattern, "/")+1:]
	switch {
	case !strings.Contains(pattern, "/"):
		l.errorf(n, "%s: %q has no registry host; write host/path, e.g. \"registry.example.com/team/*\"", where, pattern)
	case strings.ContainsAny(last, "@:"):
		l.errorf(n, "%s: %q names a tag or digest; match the repository only (remove what follows : or @)", where, pattern)
	}
}

func (l *loader) cosignKey(n *yaml.Node, where string) (PublicKey, bool) {
	name, ok := l.str(n, where)
	if !ok {
		return PublicKey{}, false
	}
	if k, ok := l.cosign[name]; ok {
		return k, true
	}
	data, err := readBounded(l.resolve(name), "key file", swapKey)
	if err != nil {
		l.fileError(n, where, err)
		return PublicKey{}, false
	}
	k, err := parsePublicKey(name, data)
	if err != nil {
		l.errorf(n, "%s: %s %v", where, name, err)
		return PublicKey{}, false
	}
	l.cosign[name] = k
	return k, true
}

func (l *loader) commits(n *yaml.Node) CommitTrust {
	fields := l.mapping(n, "commits", "mode", "openpgp", "ssh")
	var c CommitTrust
	m, ok := fields["mode"]
	if !ok {
		if n.Kind == yaml.MappingNode {
			l.errorf(n, "commits: mode is missing; write mode: head (verify each revision's commit), strict (every new commit) or off")
		}
	} else if s, ok := l.str(m, "commits.mode"); ok {
		switch mode := CommitMode(s); mode {
		case CommitsHead, CommitsStrict, CommitsOff:
			c.Mode = mode
		default:
			l.errorf(m, "commits.mode: %q is not a mode; write head, strict or off", s)
		}
	}
	if p, ok := fields["openpgp"]; ok {
		for i, item := range l.sequence(p, "commits.openpgp") {
			where := fmt.Sprintf("commits.openpgp[%d]", i)
			name, ok := l.str(item, where)
			if !ok {
				continue
			}
			if _, seen := l.pgp[name]; seen {
				continue
			}
			l.pgp[name] = true
			data, err := readBounded(l.resolve(name), "OpenPGP key file", swapKey)
			if err != nil {
				l.fileError(item, where, err)
				continue
			}
			keys, err := parseOpenPGPKeys(data)
			if err != nil {
				l.errorf(item, "%s: %s %v", where, name, err)
				continue
			}
			c.openpgp = append(c.openpgp, keys...)
		}
	}
	if s, ok := fields["ssh"]; ok {
		if name, ok := l.str(s, "commits.ssh"); ok {
			resolved := l.resolve(name)
			data, err := readBounded(resolved, "allowed signers file", addKey)
			if err != nil {
				l.fileError(s, "commits.ssh", err)
			} else {
				signers, errs := parseAllowedSigners(resolved, data)
				l.errs = append(l.errs, errs...)
				c.ssh = signers
			}
		}
	}
	if (c.Mode == CommitsHead || c.Mode == CommitsStrict) && fields["openpgp"] == nil && fields["ssh"] == nil {
		l.errorf(n, "commits: mode %s needs keys; add openpgp: [KEY.asc] or ssh: ALLOWED_SIGNERS, or set mode: off", c.Mode)
	}
	return c
}

// checkDuplicateRules reports a rule whose pattern repeats an earlier one:
// it could never apply, which hides a key its author meant to trust.
func (l *loader) checkDuplicateRules(rules []ArtifactRule) {
	seen := map[string]string{}
	for _, r := range rules {
		if at, ok := seen[r.Match]; ok {
			l.errs = append(l.errs, TrustError{File: l.file, Line: r.line, Col: r.col,
				Message: fmt.Sprintf("match %q repeats the rule at %s and would never apply; merge their keys into one rule", r.Match, at)})
			continue
		}
		seen[r.Match] = r.At
	}
}

// resolve makes a path from the trust file relative to its folder.
func (l *loader) resolve(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(l.dir, name)
}

// What another local user could do through a trust file, or a file it
// names, that they can write: said when hostfile refuses one.
const (
	addKey  = "add a signing key"
	swapKey = "swap in a signing key of their own"
)

// fileError reports a file the trust file names at n that could not be
// read: a file another user could write says how to secure it, any other
// error asks to check the path.
func (l *loader) fileError(n *yaml.Node, where string, err error) {
	if _, unsafe := errors.AsType[*hostfile.UnsafeError](err); unsafe {
		l.errorf(n, "%s: %v", where, err)
		return
	}
	l.errorf(n, "%s: %v; check the path (relative to %s)", where, err, l.dir)
}

// readBounded reads a small file of trust through hostfile, which refuses
// one another local user could write (what names the kind of file, risk
// what they could do), and refuses one over maxTrustFile bytes.
func readBounded(name, what, risk string) ([]byte, error) {
	f, err := hostfile.Open(name, what, risk)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", name)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTrustFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %v", name, err)
	}
	if len(data) > maxTrustFile {
		return nil, fmt.Errorf("%s is larger than %d bytes; is it the right file?", name, maxTrustFile)
	}
	return data, nil
}

// yamlSyntaxError positions a YAML parse error. The parser reports only the
// line ("yaml: line 3: ..."), so the column is 1.
func yamlSyntaxError(file string, err error) TrustError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := TrustError{File: file, Message: msg + "; fix the YAML syntax (indentation, quotes, a missing colon)"}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		var line int
		if n, _ := fmt.Sscanf(rest, "%d:", &line); n == 1 {
			e.Line, e.Col = line, 1
			e.Message = strings.TrimSpace(rest[strings.Index(rest, ":")+1:]) + "; fix the YAML syntax (indentation, quotes, a missing colon)"
		}
	}
	return e
}
