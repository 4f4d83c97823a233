package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEtcdFlagsRefused holds durable run's etcd flags to their bounds: each
// refusal names the flag and the fix, before anything starts.
func TestEtcdFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(loose, []byte("not a certificate"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o666); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("x", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := etcdOptions{endpoints: []string{"http://127.0.0.1:2379"}, prefix: defaultEtcdPrefix, leaseTTL: defaultLeaseTTL, shards: 1}
	cases := []struct {
		name string
		edit func(*etcdOptions)
		want string
	}{
		{"not a URL", func(o *etcdOptions) { o.endpoints = []string{"127.0.0.1:2379"} }, "--etcd endpoint"},
		{"TTL too short", func(o *etcdOptions) { o.leaseTTL = time.Second }, "--lease-ttl"},
		{"TTL not whole seconds", func(o *etcdOptions) { o.leaseTTL = 2500 * time.Millisecond }, "--lease-ttl"},
		{"TTL too long", func(o *etcdOptions) { o.leaseTTL = time.Hour }, "--lease-ttl"},
		{"cert without key", func(o *etcdOptions) { o.cert = loose }, "--etcd-cert and --etcd-key"},
		{"no shards", func(o *etcdOptions) { o.shards = 0 }, "--shards"},
		{"too many shards", func(o *etcdOptions) { o.shards = 1025 }, "--shards"},
		{"relative prefix", func(o *etcdOptions) { o.prefix = "durable" }, "--etcd-prefix"},
		{"NUL in prefix", func(o *etcdOptions) { o.prefix = "/a\x00b/" }, "--etcd-prefix"},
		{"TLS without endpoints", func(o *etcdOptions) { o.endpoints, o.ca = nil, loose }, "need --etcd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := ok
			c.edit(&o)
			err := o.check()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("check: %v; want an error naming %q", err, c.want)
			}
		})
	}
	for name, ca := range map[string]string{"CA others may write": loose, "CA that is no certificate": garbage} {
		t.Run(name, func(t *testing.T) {
			o := ok
			o.ca = ca
			if _, err := o.client(); err == nil || !strings.Contains(err.Error(), "--etcd-ca") {
				t.Fatalf("client with %s: %v; want a refusal naming --etcd-ca", name, err)
			}
		})
	}
}
