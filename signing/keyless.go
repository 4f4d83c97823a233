package signing

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"go.yaml.in/yaml/v3"
)

// KeylessIdentity is a signer the trust file names by who it is rather than
// by key: a Sigstore ("keyless") signature is made with a short-lived
// certificate that a Fulcio CA issued after an OIDC login, and the identity
// matches it when the certificate's OIDC issuer and subject (its first URI or
// email subject alternative name) do.
type KeylessIdentity struct {
	// Issuer is the OIDC issuer the certificate must name, exactly, such as
	// https://token.actions.githubusercontent.com; IssuerRegExp is instead a
	// regular expression (Go RE2 syntax) the whole issuer must match. Exactly
	// one of the two is set.
	Issuer       string
	IssuerRegExp string
	// Subject is the identity the certificate must name, exactly: a workflow
	// URI such as https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main,
	// or an email address; SubjectRegExp is instead a regular expression the
	// whole subject must match. Exactly one of the two is set.
	Subject       string
	SubjectRegExp string
	// At is where the identity is written, file:line:col, for messages.
	At string

	// policy is the identity as sigstore-go matches it, with the regular
	// expressions anchored.
	policy verify.CertificateIdentity
}

// String renders the identity as the trust file writes it.
func (k KeylessIdentity) String() string {
	subject, issuer := fmt.Sprintf("subject %q", k.Subject), fmt.Sprintf("issuer %q", k.Issuer)
	if k.SubjectRegExp != "" {
		subject = fmt.Sprintf("subject matching %q", k.SubjectRegExp)
	}
	if k.IssuerRegExp != "" {
		issuer = fmt.Sprintf("issuer matching %q", k.IssuerRegExp)
	}
	return subject + ", " + issuer
}

// anchor makes a regular expression match whole values only. sigstore-go
// and cosign match unanchored, so that "https://github.com/acme/" would also
// accept https://evil.example/?https://github.com/acme/; a trust file's
// expression is the whole value instead.
func anchor(expr string) string {
	if expr == "" {
		return ""
	}
	return "^(?:" + expr + ")$"
}

// sigstoreRoot is the Sigstore trusted root a trust file names: the Fulcio
// CAs keyless certificates must chain to, the Rekor logs whose signed entry
// timestamps and inclusion proofs are accepted, and the timestamp
// authorities whose RFC 3161 timestamps are.
type sigstoreRoot struct {
	file     string // as the trust file names it
	material *root.TrustedRoot
}

// trustedRoot reads the trustedRoot file of a trust file.
func (l *loader) trustedRoot(n *yaml.Node) *sigstoreRoot {
	name, ok := l.str(n, "trustedRoot")
	if !ok {
		return nil
	}
	data, err := readBounded(l.resolve(name), "trusted root", "trust a certificate authority of their own")
	if err != nil {
		l.fileError(n, "trustedRoot", err)
		return nil
	}
	material, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		l.errorf(n, "trustedRoot: %s is not a Sigstore trusted root (%v); use the trusted_root.json target of the Sigstore TUF repository, or make one with cosign trusted-root create", name, err)
		return nil
	}
	if len(material.FulcioCertificateAuthorities()) == 0 {
		l.errorf(n, "trustedRoot: %s lists no certificate authority (certificateAuthorities); no keyless certificate could chain to it", name)
		return nil
	}
	if len(material.RekorLogs()) == 0 && len(material.TimestampingAuthorities()) == 0 {
		l.errorf(n, "trustedRoot: %s lists no transparency log (tlogs) and no timestamp authority (timestampAuthorities); no keyless signature could prove when it was made", name)
		return nil
	}
	return &sigstoreRoot{file: name, material: material}
}

// keyless reads the keyless identities of a rule.
func (l *loader) keyless(n *yaml.Node, where string) []KeylessIdentity {
	items := l.sequence(n, where)
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		l.errorf(n, "%s is empty; list at least one identity (- issuer: ... subject: ...)", where)
	}
	if len(items) > 0 && !l.rootDeclared {
		l.errorf(n, "%s needs a Sigstore trusted root to check certificates against; add trustedRoot: \"sigstore/trusted_root.json\" at the top of the trust file (the trusted_root.json target of the Sigstore TUF repository, or cosign trusted-root create)", where)
	}
	var out []KeylessIdentity
	for i, item := range items {
		if id, ok := l.keylessIdentity(item, fmt.Sprintf("%s[%d]", where, i)); ok {
			out = append(out, id)
		}
	}
	return out
}

func (l *loader) keylessIdentity(n *yaml.Node, where string) (KeylessIdentity, bool) {
	fields := l.mapping(n, where, "issuer", "issuerRegExp", "subject", "subjectRegExp")
	if n.Kind != yaml.MappingNode {
		return KeylessIdentity{}, false
	}
	before := len(l.errs)
	id := KeylessIdentity{At: fmt.Sprintf("%s:%d:%d", l.file, n.Line, n.Column)}
	id.Issuer, id.IssuerRegExp = l.exactOrRegExp(n, fields, where, "issuer", "https://token.actions.githubusercontent.com")
	id.Subject, id.SubjectRegExp = l.exactOrRegExp(n, fields, where, "subject", "https://github.com/ORG/REPO/.github/workflows/release.yml@refs/heads/main")
	if len(l.errs) > before {
		return KeylessIdentity{}, false
	}
	policy, err := verify.NewShortCertificateIdentity(id.Issuer, anchor(id.IssuerRegExp), id.Subject, anchor(id.SubjectRegExp))
	if err != nil {
		l.errorf(n, "%s: %v", where, err)
		return KeylessIdentity{}, false
	}
	id.policy = policy
	return id, true
}

// exactOrRegExp reads field or fieldRegExp, exactly one of which must be set.
func (l *loader) exactOrRegExp(n *yaml.Node, fields map[string]*yaml.Node, where, field, example string) (exact, expr string) {
	e, hasExact := fields[field]
	r, hasExpr := fields[field+"RegExp"]
	switch {
	case hasExact && hasExpr:
		l.errorf(r, "%s: %s and %sRegExp are both set; keep one", where, field, field)
	case hasExact:
		exact, _ = l.str(e, where+"."+field)
	case hasExpr:
		s, ok := l.str(r, where+"."+field+"RegExp")
		if !ok {
			return "", ""
		}
		if _, err := regexp.Compile(s); err != nil {
			l.errorf(r, "%s.%sRegExp: %q is not a valid regular expression (%v); use Go's RE2 syntax", where, field, s, err)
			return "", ""
		}
		expr = s
	default:
		l.errorf(n, "%s: %s is missing; write %s: %q, or %sRegExp: an expression the whole %s must match", where, field, field, example, field, field)
	}
	return exact, expr
}

// keylessNames lists the rule's keyless identities for a message.
func (r *ArtifactRule) keylessNames() string {
	names := make([]string, len(r.Keyless))
	for i, id := range r.Keyless {
		names[i] = id.String()
	}
	return strings.Join(names, "; ")
}

// identities returns the rule's keyless identities as policy options.
func (r *ArtifactRule) identities() []verify.PolicyOption {
	opts := make([]verify.PolicyOption, 0, len(r.Keyless))
	for _, id := range r.Keyless {
		opts = append(opts, verify.WithCertificateIdentity(id.policy))
	}
	return opts
}

// keylessSigner returns the Signer a certificate names when one of the
// rule's keyless identities matches it, and ok false when none does. The
// caller has verified the certificate; the summary here only reads it.
func (r *ArtifactRule) keylessSigner(cert *x509.Certificate) (*Signer, bool) {
	summary, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, false
	}
	ids := make(verify.CertificateIdentities, 0, len(r.Keyless))
	for _, id := range r.Keyless {
		ids = append(ids, id.policy)
	}
	if _, err := ids.Verify(summary); err != nil {
		return nil, false
	}
	return signerOf(cert, summary), true
}

// signerOf is the Signer of a verified keyless signature.
func signerOf(cert *x509.Certificate, summary certificate.Summary) *Signer {
	return &Signer{
		Identity: fmt.Sprintf("%s (OIDC issuer %s)", summary.SubjectAlternativeName, summary.Issuer),
		Method:   "keyless",
		Key:      fingerprint(cert.Raw),
		Issuer:   summary.Issuer,
		Subject:  summary.SubjectAlternativeName,
	}
}

// describeCertificate names a certificate not yet verified, for a message:
// what it claims, and that it only claims it.
func describeCertificate(cert *x509.Certificate) string {
	summary, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return fmt.Sprintf("a certificate without a readable identity (%v)", err)
	}
	return fmt.Sprintf("a certificate for %s (OIDC issuer %s)", summary.SubjectAlternativeName, summary.Issuer)
}

// foreign explains a failed verification whose certificate no certificate
// authority of the trusted root issued (or none valid when the certificate
// was), the commonest cause; it returns "" when the certificate does chain
// to the root. It does not change cert.
func (s *sigstoreRoot) foreign(cert *x509.Certificate) string {
	c := *cert
	// Fulcio may issue an OtherName subject alternative name, which Go
	// reports as an unhandled critical extension; sigstore-go and cosign
	// read it themselves and drop it before path validation, and so does
	// this check.
	c.UnhandledCriticalExtensions = slices.DeleteFunc(slices.Clone(c.UnhandledCriticalExtensions), func(oid asn1.ObjectIdentifier) bool {
		return oid.Equal(cryptoutils.SANOID)
	})
	if _, err := verify.VerifyLeafCertificate(c.NotBefore, &c, s.material); err == nil {
		return ""
	}
	return fmt.Sprintf("that certificate is not issued by a certificate authority of the trusted root %s; sign through the Fulcio that root lists, or name the right root", s.file)
}

// logsEntryOf reports whether the bundle carries a transparency-log entry of
// a log the trusted root lists, which must then verify.
func (s *sigstoreRoot) logsEntryOf(b *bundle.Bundle) bool {
	entries, err := b.TlogEntries()
	if err != nil {
		return false
	}
	logs := s.material.RekorLogs()
	for _, e := range entries {
		if _, ok := logs[hex.EncodeToString([]byte(e.LogKeyID()))]; ok {
			return true
		}
	}
	return false
}

// verifier returns sigstore-go's verifier for one keyless bundle. The
// certificate is short-lived, so the bundle must prove when it was used:
// WithObserverTimestamps(1) asks for at least one verified time, the
// integrated time of a transparency-log entry (from its signed entry
// timestamp) or an RFC 3161 timestamp of an authority the root lists, and
// path validation of the certificate runs at each such time. When the bundle
// carries an entry of a log the root lists, WithTransparencyLog(1) makes
// that entry count only once verified (signed entry timestamp or inclusion
// proof against the log's key, and its body against the bundle's signature
// and certificate), so that a forged entry is refused rather than ignored.
// Entries of logs the root does not list cannot be checked offline and are
// skipped; a timestamp must then stand in for them.
func (s *sigstoreRoot) verifier(b *bundle.Bundle) (*verify.Verifier, error) {
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if s.logsEntryOf(b) {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	return verify.NewVerifier(s.material, opts...)
}

// timeProof says why a keyless bundle cannot prove when it was signed, or ""
// when it might.
func (s *sigstoreRoot) timeProof(b *bundle.Bundle) string {
	if s.logsEntryOf(b) {
		return ""
	}
	if ts, err := b.Timestamps(); err == nil && len(ts) > 0 {
		return ""
	}
	return fmt.Sprintf("it carries no entry of a transparency log and no signed timestamp that the trusted root %s lists, so nothing proves the short-lived certificate was valid when it signed; sign with the transparency log or a timestamp authority of that root", s.file)
}
