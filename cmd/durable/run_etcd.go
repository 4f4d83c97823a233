package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/durable-delivery/durable/cluster"
	"github.com/durable-delivery/durable/internal/hostfile"
)

// Bounds of --lease-ttl: etcd grants no lease shorter than about 2 s (its
// election timeout), and a leader that vanished for over a minute is what
// the client's own default already gives.
const (
	minLeaseTTL     = 2 * time.Second
	maxLeaseTTL     = time.Minute
	defaultLeaseTTL = 5 * time.Second
)

// defaultEtcdPrefix is --etcd-prefix's default: the journal lives under
// PREFIX journal/, the election under PREFIX leader/.
const defaultEtcdPrefix = "/durable/"

// maxEtcdPEM bounds a CA, certificate or key file for etcd.
const maxEtcdPEM = 1 << 20

// etcdOptions are durable run's flags for a journal on etcd and the
// election between the reconcilers sharing it.
type etcdOptions struct {
	endpoints     []string
	ca, cert, key string
	prefix        string
	leaseTTL      time.Duration
	shards        int
}

func addEtcdFlags(fs *pflag.FlagSet, o *etcdOptions) {
	fs.StringSliceVar(&o.endpoints, "etcd", nil, "keep the journal in etcd at these endpoints (comma-separated URLs, e.g. https://10.0.0.1:2379,https://10.0.0.2:2379) instead of STATE/journal.db; reconcilers started on the same etcd and --etcd-prefix elect one leader, which alone acts (docs/ha.md)")
	fs.StringVar(&o.ca, "etcd-ca", "", "CA bundle etcd's server certificates chain to (https:// endpoints)")
	fs.StringVar(&o.cert, "etcd-cert", "", "client certificate presented to etcd (with --etcd-key)")
	fs.StringVar(&o.key, "etcd-key", "", "the key of --etcd-cert (readable by this user alone)")
	fs.StringVar(&o.prefix, "etcd-prefix", defaultEtcdPrefix, "etcd key prefix of this deployment: its journal and its election live under it")
	fs.DurationVar(&o.leaseTTL, "lease-ttl", defaultLeaseTTL, "how long a reconciler's lease lasts without renewal: the others take its shards over about this long after it dies (whole seconds, 2s to 1m)")
	fs.IntVar(&o.shards, "shards", 1, fmt.Sprintf("divide the services into this many shards, which the reconcilers on the same etcd and --etcd-prefix own evenly (1 to %d; the same for every reconciler): 1, one leader acts and the others stand by", cluster.MaxShards))
}

// on says whether the journal is on etcd.
func (o etcdOptions) on() bool { return len(o.endpoints) > 0 }

// check refuses flags that cannot work together, before anything starts.
func (o etcdOptions) check() error {
	if !o.on() {
		if o.ca != "" || o.cert != "" || o.key != "" {
			return usageError{errors.New("--etcd-ca, --etcd-cert and --etcd-key need --etcd: give the endpoints of the etcd cluster")}
		}
		return nil
	}
	for _, e := range o.endpoints {
		if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
			return usageError{fmt.Errorf("--etcd endpoint %q: write it as a URL, http://HOST:PORT or https://HOST:PORT", e)}
		}
	}
	if (o.cert == "") != (o.key == "") {
		return usageError{errors.New("--etcd-cert and --etcd-key go together: give both, or neither")}
	}
	if o.leaseTTL < minLeaseTTL || o.leaseTTL > maxLeaseTTL || o.leaseTTL%time.Second != 0 {
		return usageError{fmt.Errorf("--lease-ttl %s: use whole seconds from %s to %s", o.leaseTTL, minLeaseTTL, maxLeaseTTL)}
	}
	if o.shards < 1 || o.shards > cluster.MaxShards {
		return usageError{fmt.Errorf("--shards %d: use 1 to %d, the same for every reconciler of the deployment", o.shards, cluster.MaxShards)}
	}
	if !strings.HasPrefix(o.prefix, "/") || strings.ContainsRune(o.prefix, 0) {
		return usageError{fmt.Errorf("--etcd-prefix %q: use a key prefix starting with / such as %s", o.prefix, defaultEtcdPrefix)}
	}
	return nil
}

// journalPrefix is where the journal lives under --etcd-prefix (the
// members and shards are beside it: package cluster).
func (o etcdOptions) journalPrefix() string { return o.base() + "journal/" }

func (o etcdOptions) base() string {
	if strings.HasSuffix(o.prefix, "/") {
		return o.prefix
	}
	return o.prefix + "/"
}

// client is a client of the etcd cluster, over TLS when a CA or a client
// certificate is given; its files are checked as the other key files are.
func (o etcdOptions) client() (*clientv3.Client, error) {
	tlsConfig, err := o.tls()
	if err != nil {
		return nil, err
	}
	// No gRPC keepalive of its own: etcd refuses pings more often than
	// every 5 s, and a lost lease is told by the lease's own deadline.
	c, err := clientv3.New(clientv3.Config{Endpoints: o.endpoints, DialTimeout: 5 * time.Second, TLS: tlsConfig, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("--etcd %s: %w", strings.Join(o.endpoints, ","), err)
	}
	return c, nil
}

func (o etcdOptions) tls() (*tls.Config, error) {
	if o.ca == "" && o.cert == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.ca != "" {
		pem, err := hostfile.ReadText(o.ca, "--etcd-ca file", "make this reconciler trust another etcd", "give the CA bundle etcd's certificates chain to", maxEtcdPEM)
		if err != nil {
			return nil, fmt.Errorf("--etcd-ca %s: %w", o.ca, err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--etcd-ca %s holds no PEM certificate; give the CA bundle etcd's certificates chain to", o.ca)
		}
	}
	if o.cert != "" {
		certPEM, err := hostfile.ReadText(o.cert, "--etcd-cert file", "log in to etcd as another client", "give the client certificate etcd accepts", maxEtcdPEM)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert %s: %w", o.cert, err)
		}
		keyPEM, err := hostfile.ReadSecret(o.key, "--etcd-key file", "log in to etcd as this reconciler", maxEtcdPEM)
		if err != nil {
			return nil, fmt.Errorf("--etcd-key %s: %w", o.key, err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert %s with --etcd-key %s: %v; give a certificate and the key it was issued for", o.cert, o.key, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// etcdReachable checks that etcd answers, so that a wrong endpoint stops
// durable run at once instead of leaving it standing by forever.
func etcdReachable(ctx context.Context, c *clientv3.Client, o etcdOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, o.journalPrefix(), clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("--etcd %s: etcd does not answer: %w; check the endpoints and, for https://, --etcd-ca, --etcd-cert and --etcd-key", strings.Join(o.endpoints, ","), err)
	}
	return nil
}
