package reconcile

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/secrets/onhost"
	"github.com/durable-delivery/durable/secrets/sops"
	"github.com/durable-delivery/durable/secrets/sops/sopstest"
)

func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "db"), []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, onhost.MaxFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DURABLE_TEST_TOKEN", "tok-123")
	t.Setenv("DURABLE_TEST_OTHER", "other-789")
	host, err := onhost.Open(dir, []string{"DURABLE_TEST_TOKEN", "DURABLE_TEST_NOT_SET"})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	svc := schema.Service{Name: "web", Run: schema.Run{SecretEnv: map[string]schema.SecretRef{
		"DB": {File: "db"}, "TOKEN": {Env: "DURABLE_TEST_TOKEN"}}}}
	r := &Reconciler{cfg: Config{Host: adapters.Host{StateDir: dir}, HostSecrets: host}}
	got, err := r.resolveSecrets(svc)
	if err != nil || got["DB"] != "hunter2" || got["TOKEN"] != "tok-123" {
		t.Fatalf("resolved %v, %v", got, err)
	}
	bad := schema.Service{Name: "web", Run: schema.Run{SecretEnv: map[string]schema.SecretRef{
		"A": {File: "missing"},
		"B": {Env: "DURABLE_TEST_NOT_SET"},
		"C": {File: "db", Env: "DURABLE_TEST_TOKEN"},
		"D": {File: "big"},
		"E": {File: "/etc/durable/db-password"},
		"F": {File: "../db"},
		"G": {Env: "DURABLE_TEST_OTHER"},
	}}}
	_, err = r.resolveSecrets(bad)
	for _, want := range []string{
		"services.web.run.secretEnv.A.file: secret file missing in --secrets-dir " + dir + ": no such file or directory",
		"services.web.run.secretEnv.B.env: the reconciler has no environment variable DURABLE_TEST_NOT_SET",
		"services.web.run.secretEnv.C: give exactly one of file, env or sops",
		"services.web.run.secretEnv.D.file: secret file big in --secrets-dir " + dir + " is over",
		`services.web.run.secretEnv.E.file: file: "/etc/durable/db-password" is an absolute path: since this version secret files are named relative to the operator's --secrets-dir; write file: "db-password" and start durable run with --secrets-dir /etc/durable`,
		`services.web.run.secretEnv.F.file: file: "../db" leaves the secrets directory`,
		"services.web.run.secretEnv.G.env: the reconciler's variable DURABLE_TEST_OTHER is not one the operator allows secrets from; start durable run with --secret-env DURABLE_TEST_OTHER",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want it to contain %q", err, want)
		}
	}
	if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "tok-123") || strings.Contains(err.Error(), "other-789")) {
		t.Fatalf("an error holds a secret's value: %v", err)
	}
}

// TestAdmissionRefusesHostSecretsTheOperatorDidNotGive: without
// --secrets-dir and --secret-env, a revision that asks for a host file
// (the age identity, /etc/shadow) or a variable of the reconciler is
// rejected with the fix, and nothing is read.
func TestAdmissionRefusesHostSecretsTheOperatorDidNotGive(t *testing.T) {
	key := filepath.Join(t.TempDir(), "age.txt")
	if err := os.WriteFile(key, []byte("AGE-SECRET-KEY-1HOSTILE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DURABLE_TEST_TOKEN", "tok-123")
	r := &Reconciler{cfg: Config{Host: adapters.Host{StateDir: t.TempDir()}}}
	for ref, want := range map[schema.SecretRef]string{
		{File: key}:                 "is an absolute path: since this version secret files are named relative to the operator's --secrets-dir",
		{File: "db-password"}:       `secret file "db-password": this reconciler has no secrets directory; put the file in a directory only its user can write and start durable run with --secrets-dir DIR`,
		{Env: "DURABLE_TEST_TOKEN"}: "start durable run with --secret-env DURABLE_TEST_TOKEN",
	} {
		ds := &schema.DesiredState{Services: map[string]schema.Service{"web": {Name: "web",
			Run: schema.Run{SecretEnv: map[string]schema.SecretRef{"X": ref}}}}}
		err := r.withSecrets(ds)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("revision with secret %+v: %v, want it rejected saying %q", ref, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "HOSTILE") || strings.Contains(err.Error(), "tok-123")) {
			t.Errorf("the rejection shows a value: %v", err)
		}
	}
}

func TestSecretsDigestFollowsValuesNotNames(t *testing.T) {
	r := &Reconciler{}
	r.cfg.Host.StateDir = t.TempDir()
	a, err := r.secretsDigest(map[string]string{"DB": "one"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.secretsDigest(map[string]string{"DB": "two"})
	again, _ := r.secretsDigest(map[string]string{"DB": "one"})
	if a == b || a != again || strings.Contains(a, "one") {
		t.Fatalf("digests %s %s %s", a, b, again)
	}
}

// sopsFixture is a SOPS file encrypted to a new age key, and that key.
func sopsFixture(t *testing.T) ([]byte, *sops.Identities) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := sopstest.Encrypt("secrets/web.enc.yaml", []byte("db:\n  password: hunter2-sops\napi:\n  token: tok-sops-1\n"),
		sopstest.Options{}, id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sops.ParseIdentities([]byte(id.String()), "test key")
	if err != nil {
		t.Fatal(err)
	}
	return ct, ids
}

func sopsRef(key string, ct []byte) schema.SecretRef {
	return schema.SecretRef{Sops: &schema.SopsRef{File: "secrets/web.enc.yaml", Key: key, Ciphertext: ct}}
}

func TestResolveSopsSecrets(t *testing.T) {
	ct, ids := sopsFixture(t)
	_, otherIDs := sopsFixture(t)
	r := &Reconciler{}
	r.cfg.Host.StateDir = t.TempDir()
	r.cfg.SopsIdentities = ids
	svc := schema.Service{Name: "web", Run: schema.Run{SecretEnv: map[string]schema.SecretRef{
		"DB_PASSWORD": sopsRef("db.password", ct), "TOKEN": sopsRef("api.token", ct)}}}
	got, err := r.resolveSecrets(svc)
	if err != nil || got["DB_PASSWORD"] != "hunter2-sops" || got["TOKEN"] != "tok-sops-1" {
		t.Fatalf("resolved %v, %v", got, err)
	}

	both := sopsRef("db.password", ct)
	both.File = "/etc/durable/db"
	bad := schema.Service{Name: "web", Run: schema.Run{SecretEnv: map[string]schema.SecretRef{
		"A": sopsRef("db.pasword", ct),
		"B": sopsRef("db", ct),
		"C": both,
	}}}
	wrongKey := &Reconciler{cfg: Config{Host: r.cfg.Host, SopsIdentities: otherIDs}}
	noKey := &Reconciler{cfg: Config{Host: r.cfg.Host}}
	for _, tc := range []struct {
		r    *Reconciler
		svc  schema.Service
		want []string
	}{
		{r, bad, []string{
			"services.web.run.secretEnv.A: secrets/web.enc.yaml: no such key db.pasword; the file has keys: db.password, api.token",
			"services.web.run.secretEnv.B: secrets/web.enc.yaml: key db: not a single value: it holds a map",
			"services.web.run.secretEnv.C: give exactly one of file, env or sops",
		}},
		{wrongKey, svc, []string{"services.web.run.secretEnv.DB_PASSWORD: secrets/web.enc.yaml: no age identity of the reconciler matches the file's recipients"}},
		{noKey, svc, []string{"services.web.run.secretEnv.TOKEN: secrets/web.enc.yaml: no age identity is configured to decrypt SOPS files; start durable run with --sops-age-key-file"}},
	} {
		_, err := tc.r.resolveSecrets(tc.svc)
		for _, want := range tc.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v: want it to contain %q", err, want)
			}
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "tok-sops")) {
			t.Fatalf("an error holds a secret's value: %v", err)
		}
	}
}

// A journaled release has no ciphertext (it is not part of the spec): the
// file kept for the release when its revision loaded is read instead, also
// by a reconciler that restarted.
func TestSopsFileKeptForTheRelease(t *testing.T) {
	ct, ids := sopsFixture(t)
	state := t.TempDir()
	r := &Reconciler{cfg: Config{Host: adapters.Host{StateDir: state}, SopsIdentities: ids}}
	ds := &schema.DesiredState{Services: map[string]schema.Service{
		"web": {Name: "web", Run: schema.Run{SecretEnv: map[string]schema.SecretRef{"DB_PASSWORD": sopsRef("db.password", ct)}}},
		"api": {Name: "api", Run: schema.Run{Env: map[string]string{"A": "b"}}},
	}}
	if err := r.withSecrets(ds); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ds.Services["web"])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "ENC[") {
		t.Fatalf("the journaled spec holds the ciphertext: %s", b)
	}
	var journaled schema.Service
	if err := json.Unmarshal(b, &journaled); err != nil {
		t.Fatal(err)
	}
	restarted := &Reconciler{cfg: r.cfg}
	got, err := restarted.resolveSecrets(journaled)
	if err != nil || got["DB_PASSWORD"] != "hunter2-sops" {
		t.Fatalf("resolved %v, %v", got, err)
	}
	// Each pass resolves the secrets of every live set: the kept file is
	// read and decrypted once, then served from memory.
	if err := os.RemoveAll(filepath.Join(state, "sops")); err != nil {
		t.Fatal(err)
	}
	if got, err := restarted.resolveSecrets(journaled); err != nil || got["DB_PASSWORD"] != "hunter2-sops" {
		t.Fatalf("resolved again %v, %v", got, err)
	}

	elsewhere := &Reconciler{cfg: r.cfg}
	elsewhere.cfg.Host.StateDir = t.TempDir()
	if _, err := elsewhere.resolveSecrets(journaled); err == nil || !strings.Contains(err.Error(), "secrets/web.enc.yaml: the encrypted file of release") {
		t.Fatalf("got %v, want the file not kept", err)
	}

	// Without an age key, a revision with a SOPS secret is rejected, and
	// one without is not.
	keyless := &Reconciler{cfg: Config{Host: r.cfg.Host}}
	if err := keyless.withSecrets(&schema.DesiredState{Services: map[string]schema.Service{"api": ds.Services["api"]}}); err != nil {
		t.Fatalf("a revision without SOPS secrets needs no key: %v", err)
	}
	withSops := &schema.DesiredState{Services: map[string]schema.Service{"web": {Name: "web", Run: schema.Run{
		SecretEnv: map[string]schema.SecretRef{"DB_PASSWORD": sopsRef("db.password", ct)}}}}}
	if err := keyless.withSecrets(withSops); err == nil || !strings.Contains(err.Error(), "--sops-age-key-file") {
		t.Fatalf("got %v, want the fix", err)
	}
}

// An instance of a journaled release gets its SOPS secrets, decrypted from
// the file kept for the release, after a restart.
func TestSpecOfAJournaledReleaseHasItsSopsSecrets(t *testing.T) {
	ct, ids := sopsFixture(t)
	ctx := context.Background()
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := &Reconciler{cfg: Config{Host: adapters.Host{StateDir: t.TempDir()}, SopsIdentities: ids}, store: st}
	ds := &schema.DesiredState{Services: map[string]schema.Service{"web": {Name: "web", Artifact: "r/web@sha256:" + strings.Repeat("a", 64),
		Run: schema.Run{Replicas: 1, SecretEnv: map[string]schema.SecretRef{"DB_PASSWORD": sopsRef("db.password", ct)}}}}}
	if err := r.withSecrets(ds); err != nil {
		t.Fatal(err)
	}
	svc := ds.Services["web"]
	if err := r.putRelease(ctx, svc, "c0ffee"); err != nil {
		t.Fatal(err)
	}
	restarted := &Reconciler{cfg: r.cfg, store: st}
	spec, err := restarted.specOf(ctx, journal.InfraSet{ID: "web-1", Service: "web", Release: svc.ReleaseID()})
	if err != nil || spec.Env["DB_PASSWORD"] != "hunter2-sops" {
		t.Fatalf("spec env %v, %v", spec.Env, err)
	}
}

// TestResolvedSecretsAreRedacted: once a secret is resolved, an error
// holding its value or an encoding of it (an exec plug-in's stderr) reaches
// neither the log, nor the journal (served or on disk), nor the status.
func TestResolvedSecretsAreRedacted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	value := "leak-me s3cret/7d1c"
	if err := os.WriteFile(filepath.Join(dir, "db"), []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, err := onhost.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	db := filepath.Join(t.TempDir(), "journal.db")
	st, err := journal.OpenBolt(db, journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	r, err := New(ctx, Config{Host: adapters.Host{StateDir: dir}, HostSecrets: host,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.resolveSecrets(schema.Service{Name: "web", Run: schema.Run{SecretEnv: map[string]schema.SecretRef{"DB": {File: "db"}}}}); err != nil {
		t.Fatal(err)
	}
	forms := []string{value, base64.StdEncoding.EncodeToString([]byte(value)), base64.URLEncoding.EncodeToString([]byte(value)),
		hex.EncodeToString([]byte(value)), url.QueryEscape(value), url.PathEscape(value)}
	stderr := errors.New("exec adapter plug-in apply: exit status 1: " + strings.Join(forms, " "))
	r.log.Error("apply", "err", stderr)
	r.journal(ctx, journal.Entry{Kind: api.EntryOutcome, Message: "apply failed: " + stderr.Error(), Error: stderr.Error()})
	if err := r.store.PutRollout(ctx, journal.Rollout{ID: "r1", Service: "web", Message: stderr.Error()}); err != nil {
		t.Fatal(err)
	}
	status, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	statusJSON, _ := json.Marshal(status)
	entries, _ := st.Entries(ctx, 0, 0)
	entriesJSON, _ := json.Marshal(entries)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"log": logs.String(), "journal": string(entriesJSON), "journal.db": string(onDisk), "status": string(statusJSON)} {
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("the %s holds the secret as %q", what, f)
			}
		}
		if !strings.Contains(text, "[redacted secretEnv.DB]") && what != "status" {
			t.Errorf("the %s does not say what was redacted: %s", what, text)
		}
	}
}
