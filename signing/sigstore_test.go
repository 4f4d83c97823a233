package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ocimutate "github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
)

// testSigstore stands in for a Sigstore deployment: a Fulcio-like CA (a
// self-signed root and an intermediate) that issues short-lived certificates
// naming an OIDC issuer and subject, and sigstore-go's VirtualSigstore
// (pkg/testing/ca) as the Rekor log (its signed entry timestamps and
// inclusion proofs) and the RFC 3161 timestamp authority. Its trusted root is
// written as the Sigstore TrustedRoot JSON a trust file names. The services
// are in-process stand-ins, but nothing is bypassed: every signature,
// certificate, log entry and timestamp is real cryptography that the code
// under test verifies.
type testSigstore struct {
	ca  *testCA
	log *ca.VirtualSigstore
}

// testCA is the Fulcio-like CA.
type testCA struct {
	root, intermediate *x509.Certificate
	key                crypto.Signer // the intermediate's
}

func newSigstore(t testing.TB) *testSigstore {
	t.Helper()
	log, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return &testSigstore{ca: newCA(t), log: log}
}

func newCA(t testing.TB) *testCA {
	t.Helper()
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{root: rootCert, intermediate: inter, key: interKey}
}

// writeTrustedRoot writes the deployment's trusted root (its CA, its Rekor
// log, its timestamp authority) to dir/file.
func (s *testSigstore) writeTrustedRoot(t testing.TB, dir, file string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, file), s.trustedRootJSON(t, true))
}

// trustedRootJSON is the deployment's trusted root in the Sigstore
// TrustedRoot JSON format; without services, it lists the CA alone.
func (s *testSigstore) trustedRootJSON(t testing.TB, services bool) string {
	t.Helper()
	fulcio := &root.FulcioCertificateAuthority{
		Root:                s.ca.root,
		Intermediates:       []*x509.Certificate{s.ca.intermediate},
		ValidityPeriodStart: time.Now().Add(-time.Hour),
		URI:                 "https://fulcio.test",
	}
	// The log is listed by the SHA-256 of its key, as Rekor names itself.
	logs := map[string]*root.TransparencyLog{}
	for _, l := range s.log.RekorLogs() {
		der, err := x509.MarshalPKIXPublicKey(l.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		id := sha256.Sum256(der)
		listed := *l
		listed.ID = id[:]
		logs[hex.EncodeToString(id[:])] = &listed
	}
	tsas := s.log.TimestampingAuthorities()
	if !services {
		logs, tsas = nil, nil
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fulcio}, nil, tsas, logs)
	if err != nil {
		t.Fatal(err)
	}
	data, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// testIdentity is a short-lived certificate the CA issued and its key.
type testIdentity struct {
	s    *testSigstore
	cert *x509.Certificate
	sv   signature.SignerVerifier
}

// issuer OIDs of Fulcio certificates: the original extension holds the raw
// string, the v2 one a DER UTF8String. Fulcio sets both.
var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// identity issues a certificate for subject (a URI SAN if it has a scheme,
// else an email SAN) logged in through issuer, valid ten minutes, as Fulcio
// does. With legacyIssuer, only the original issuer extension is set.
func (c *testCA) identity(t testing.TB, s *testSigstore, subject, issuer string, legacyIssuer bool) *testIdentity {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	exts := []pkix.Extension{{Id: oidIssuerV1, Value: []byte(issuer)}}
	if !legacyIssuer {
		v2, err := asn1.MarshalWithParams(issuer, "utf8")
		if err != nil {
			t.Fatal(err)
		}
		exts = append(exts, pkix.Extension{Id: oidIssuerV2, Value: v2})
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       time.Now().Add(-time.Minute),
		NotAfter:        time.Now().Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: exts,
	}
	if strings.Contains(subject, "://") {
		u, err := url.Parse(subject)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{subject}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.intermediate, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &testIdentity{s: s, cert: cert, sv: sv}
}

// identity issues a certificate of the deployment's own CA.
func (s *testSigstore) identity(t testing.TB, subject, issuer string) *testIdentity {
	return s.ca.identity(t, s, subject, issuer, false)
}

// proof says which proofs of time a test signature carries.
type proof struct {
	tlog      bool // a Rekor entry, with its signed entry timestamp
	timestamp bool // an RFC 3161 timestamp over the signature
	forged    bool // the entry's signed entry timestamp is not the log's
}

// logEntry records body in the log now, as Rekor does: the signed entry
// timestamp over body, integrated time, index and log ID, and an inclusion
// proof in a one-entry tree. A forged entry claims the log but its signed
// entry timestamp is made with another key.
func (s *testSigstore) logEntry(t testing.TB, kind, version string, body []byte, forged bool) (*protorekor.TransparencyLogEntry, *cbundle.RekorBundle) {
	t.Helper()
	logID, err := s.log.RekorLogID()
	if err != nil {
		t.Fatal(err)
	}
	rawID, err := hex.DecodeString(logID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	p := tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: now, LogIndex: 0, LogID: logID}
	setSigner := s.log
	if forged {
		if setSigner, err = ca.NewVirtualSigstore(); err != nil {
			t.Fatal(err)
		}
	}
	set, err := setSigner.RekorSignPayload(p)
	if err != nil {
		t.Fatal(err)
	}
	inclusion, err := s.log.GetInclusionProof(body)
	if err != nil {
		t.Fatal(err)
	}
	rootHash, err := hex.DecodeString(*inclusion.RootHash)
	if err != nil {
		t.Fatal(err)
	}
	entry := &protorekor.TransparencyLogEntry{
		LogIndex:          0,
		LogId:             &protocommon.LogId{KeyId: rawID},
		KindVersion:       &protorekor.KindVersion{Kind: kind, Version: version},
		IntegratedTime:    now,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		InclusionProof:    &protorekor.InclusionProof{LogIndex: 0, RootHash: rootHash, TreeSize: *inclusion.TreeSize, Checkpoint: &protorekor.Checkpoint{Envelope: *inclusion.Checkpoint}},
		CanonicalizedBody: body,
	}
	return entry, &cbundle.RekorBundle{SignedEntryTimestamp: set, Payload: cbundle.RekorPayload{Body: p.Body, IntegratedTime: now, LogIndex: 0, LogID: logID}}
}

// hashedRekord is the log entry body of a signature over artifact: what
// Rekor records for cosign sign and for a message-signature bundle.
func (id *testIdentity) hashedRekord(t testing.TB, artifact, sig []byte) []byte {
	t.Helper()
	certPEM, err := cryptoutils.MarshalCertificateToPEM(id.cert)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(artifact)
	body, err := json.Marshal(map[string]any{
		"apiVersion": "0.0.1",
		"kind":       "hashedrekord",
		"spec": map[string]any{
			"data":      map[string]any{"hash": map[string]string{"algorithm": "sha256", "value": hex.EncodeToString(digest[:])}},
			"signature": map[string]any{"content": sig, "publicKey": map[string]any{"content": certPEM}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// intotoEntry is the log entry body of a signed DSSE envelope (Rekor's
// intoto kind, as cosign attest records), made by VirtualSigstore, and the
// envelope in the JSON form the entry hashes.
func (id *testIdentity) intotoEntry(t testing.TB, env []byte) (body, envelope []byte) {
	t.Helper()
	var e ssldsse.Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := id.s.log.GenerateTlogEntry(id.cert, &e, sig, time.Now().Unix(), false)
	if err != nil {
		t.Fatal(err)
	}
	envelope, err = json.Marshal(&e)
	if err != nil {
		t.Fatal(err)
	}
	return entry.TransparencyLogEntry().GetCanonicalizedBody(), envelope
}

// bundle wraps signed content in a Sigstore bundle v0.3 with the
// certificate and the proofs asked for.
func (id *testIdentity) bundle(t testing.TB, p proof, sig []byte, entry func() *protorekor.TransparencyLogEntry, content func(*protobundle.Bundle)) []byte {
	t.Helper()
	b := &protobundle.Bundle{
		MediaType: bundleV03,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: id.cert.Raw}},
		},
	}
	if p.tlog {
		b.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{entry()}
	}
	if p.timestamp {
		tsr, err := id.s.log.TimestampResponse(sig)
		if err != nil {
			t.Fatal(err)
		}
		b.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: tsr}},
		}
	}
	content(b)
	data, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// messageBundle signs the manifest of signed, as a message signature, and
// stores the bundle as a referrer of d.
func (id *testIdentity) messageBundle(t testing.TB, d, signed name.Digest, p proof) {
	t.Helper()
	desc, err := remote.Get(signed)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := id.sv.SignMessage(strings.NewReader(string(desc.Manifest)))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(desc.Manifest)
	entry := func() *protorekor.TransparencyLogEntry {
		e, _ := id.s.logEntry(t, "hashedrekord", "0.0.1", id.hashedRekord(t, desc.Manifest, sig), p.forged)
		return e
	}
	pushReferrer(t, d, bundleV03, id.bundle(t, p, sig, entry, func(b *protobundle.Bundle) {
		b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}}
	}))
}

// dsseBundle signs statement st in a DSSE envelope and stores the bundle as
// a referrer of d: cosign v3's keyless sign (predicate type
// cosignSignPredicateType) and attest.
func (id *testIdentity) dsseBundle(t testing.TB, d name.Digest, st []byte, p proof) {
	t.Helper()
	env := envelope(t, testKey{sv: id.sv}, st)
	var e ssldsse.Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	entry := func() *protorekor.TransparencyLogEntry {
		body, _ := id.intotoEntry(t, env)
		le, _ := id.s.logEntry(t, "intoto", "0.0.2", body, p.forged)
		return le
	}
	pushReferrer(t, d, bundleV03, id.bundle(t, p, sig, entry, func(b *protobundle.Bundle) {
		b.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     st,
			PayloadType: "application/vnd.in-toto+json",
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}}
	}))
}

// certAnnotations are the certificate and chain PEM of a classic keyless
// signature.
func (id *testIdentity) certAnnotations(t testing.TB) (certPEM, chainPEM []byte) {
	t.Helper()
	certPEM, err := cryptoutils.MarshalCertificateToPEM(id.cert)
	if err != nil {
		t.Fatal(err)
	}
	chainPEM, err = cryptoutils.MarshalCertificatesToPEM([]*x509.Certificate{id.s.ca.intermediate, id.s.ca.root})
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, chainPEM
}

// signClassic signs d the way keyless `cosign sign` (v2) does: a
// simple-signing payload, its signature, the certificate and chain, and
// with p.tlog, the transparency-log bundle, in annotations of the
// sha256-<hex>.sig tag.
func (id *testIdentity) signClassic(t testing.TB, d name.Digest, p proof) {
	t.Helper()
	claim, err := (&payload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := id.sv.SignMessage(strings.NewReader(string(claim)))
	if err != nil {
		t.Fatal(err)
	}
	opts := []static.Option{static.WithCertChain(id.certAnnotations(t))}
	if p.tlog {
		_, rb := id.s.logEntry(t, "hashedrekord", "0.0.1", id.hashedRekord(t, claim, sig), p.forged)
		opts = append(opts, static.WithBundle(rb))
	}
	ociSig, err := static.NewSignature(claim, base64.StdEncoding.EncodeToString(sig), opts...)
	if err != nil {
		t.Fatal(err)
	}
	attachSignature(t, d, ociSig)
}

// attestClassic attaches st, signed keyless in a DSSE envelope and logged,
// under the sha256-<hex>.att tag, as keyless `cosign attest` (v2) does.
func (id *testIdentity) attestClassic(t testing.TB, d name.Digest, st []byte) {
	t.Helper()
	body, env := id.intotoEntry(t, envelope(t, testKey{sv: id.sv}, st))
	_, rb := id.s.logEntry(t, "intoto", "0.0.2", body, false)
	certPEM, chainPEM := id.certAnnotations(t)
	att, err := static.NewAttestation(env, static.WithCertChain(certPEM, chainPEM), static.WithBundle(rb),
		static.WithLayerMediaType("application/vnd.dsse.envelope.v1+json"))
	if err != nil {
		t.Fatal(err)
	}
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		t.Fatal(err)
	}
	se, err = ocimutate.AttachAttestationToEntity(se, att)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestations(d.Repository, se); err != nil {
		t.Fatal(err)
	}
}

// attachSignature adds sig to the sha256-<hex>.sig tag of d.
func attachSignature(t testing.TB, d name.Digest, sig oci.Signature) {
	t.Helper()
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		t.Fatal(err)
	}
	se, err = ocimutate.AttachSignatureToEntity(se, sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteSignatures(d.Repository, se); err != nil {
		t.Fatal(err)
	}
}
