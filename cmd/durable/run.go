package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/hostconfig"
	"github.com/durable-delivery/durable/adapters/remote"
	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/notify"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/secrets/onhost"
	"github.com/durable-delivery/durable/secrets/redact"
	"github.com/durable-delivery/durable/secrets/sops"
	"github.com/durable-delivery/durable/server"
	"github.com/durable-delivery/durable/server/webhook"
	"github.com/durable-delivery/durable/signing"
	"github.com/durable-delivery/durable/source"
)

func newRunCmd() *cobra.Command {
	var (
		o                runOptions
		logFormat, runAs string
	)
	cmd := &cobra.Command{
		Use:   "run --repo REPO",
		Short: "Run the reconciler on a desired-state repository",
		Long: `Watches REPO (a local path, or a file://, http(s):// or ssh:// URL) and converges the
targets it declares. The journal, the source cache and the adapters' state live in --state.
The API (status, journal, trigger, Prometheus metrics at /metrics) listens on --listen:
loopback or a Unix socket, or any address with TLS. Every call that changes something needs a write token (or the 0660 socket);
without --token-file, one is created in STATE/api-tokens (durable status reads .durable/api-tokens).
A forge's pushes reach POST /v1/webhooks/KIND, signed with the secret of --webhook-secret-file.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.repo == "" {
				return usageError{errors.New("--repo is required: the desired-state repository to watch")}
			}
			if o.interval < time.Second {
				return usageError{fmt.Errorf("--interval %s is too short: use 1s or more", o.interval)}
			}
			if o.resync < time.Second || o.resync > 24*time.Hour {
				return usageError{fmt.Errorf("--resync %s: use a duration from 1s to 24h", o.resync)}
			}
			if o.evaluationTimeout < time.Second || o.evaluationTimeout > 10*time.Minute {
				return usageError{fmt.Errorf("--evaluation-timeout %s: use a duration from 1s to 10m", o.evaluationTimeout)}
			}
			if o.policyTimeout <= 0 || o.policyTimeout > time.Minute {
				return usageError{fmt.Errorf("--policy-timeout %s: use a duration from 1ms to 1m", o.policyTimeout)}
			}
			loc, err := time.LoadLocation(o.timezone)
			if err != nil {
				return usageError{fmt.Errorf("--timezone %q: %v; use an IANA name such as Europe/Paris or UTC", o.timezone, err)}
			}
			o.location = loc
			if err := checkRunFlags(cmd.Flags(), o); err != nil {
				return err
			}
			if o.runAs, err = lookupRunAs(cmd, runAs); err != nil {
				return err
			}
			log, err := newLogger(cmd, logFormat)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runReconciler(ctx, log, o)
		},
	}
	cmd.Flags().StringVar(&o.repo, "repo", "", "desired-state repository: a path or a file, http(s) or ssh URL")
	cmd.Flags().StringVar(&o.branch, "branch", "main", "branch to follow")
	cmd.Flags().StringVar(&o.stateDir, "state", defaultStateDir, "directory for the journal, the source cache and the adapters' state")
	addListenerFlags(cmd.Flags(), addressFlag{"listen", defaultAPI, "address of the API"}, &o.api, &o.tokenFile)
	cmd.Flags().BoolVar(&o.readTokens, "token-for-reads", false, "on a loopback address, reads (status, journal) need a token too")
	cmd.Flags().DurationVar(&o.interval, "interval", 30*time.Second, "how often to poll the repository (±10% jitter)")
	cmd.Flags().DurationVar(&o.resync, "resync", reconcile.DefaultResync, "how long a placement goes at most before it is converged again though nothing changed it, spread over the second half (between, only what changed or drifted is)")
	cmd.Flags().StringVar(&o.policyDir, "policy-dir", "", "a second policy source on this host (Rego files), trusted separately from the repository: both must allow")
	cmd.Flags().DurationVar(&o.evaluationTimeout, "evaluation-timeout", schema.EvaluationLimit, "how long evaluating one revision's desired state may take (in a child process, its memory bounded too) before the revision is rejected")
	cmd.Flags().DurationVar(&o.policyTimeout, "policy-timeout", policy.DefaultTimeout, "how long one policy decision may take before it denies")
	cmd.Flags().StringVar(&o.timezone, "timezone", "UTC", "timezone of the clock given to policies (input.now)")
	cmd.Flags().BoolVar(&o.revert, "revert-on-failure", false, "after a rollout fails, push a commit that puts the previous revision back, so that Git shows what runs (needs push access)")
	cmd.Flags().StringVar(&o.drift, "drift", "repair", "what to do with a traffic split changed by hand: repair (restore the journal's) or report (journal it, change nothing)")
	cmd.Flags().StringVar(&o.scrapeTargets, "prometheus-targets", "", "keep this Prometheus file_sd targets file listing every live instance (labels: service, set, release, stage, target)")
	cmd.Flags().StringVar(&o.trustFile, "trust", "", "trust file (YAML or JSON) on this host: the keys that sign artifacts and commits (required, unless --insecure-skip-verify)")
	cmd.Flags().BoolVar(&o.insecureSkipVerify, "insecure-skip-verify", false, "run without a trust file: nothing is verified (journaled, and a warning in status)")
	cmd.Flags().StringVar(&runAs, "run-as", "", "user (name or uid) the process runtime starts instances as, its groups cleared (default: the reconciler's own user; needs root for another)")
	cmd.Flags().StringVar(&o.notifyFile, "notify", "", notifyUsage)
	cmd.Flags().StringVar(&o.hostConfig, "host-config", "", "host file (YAML or JSON) naming what targets may bind on this host: exec plug-ins, Docker engines, HAProxy sockets, router admin addresses; the repository refers to them by name")
	addHostSecretFlags(cmd.Flags(), &o)
	addRetentionFlag(cmd.Flags(), &o.journalRetention)
	addEtcdFlags(cmd.Flags(), &o.etcd)
	addRunQueueFlags(cmd.Flags(), &o.queue)
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

// checkRunFlags refuses, before anything starts, flags that cannot work
// or cannot go together.
func checkRunFlags(fs *pflag.FlagSet, o runOptions) error {
	if o.drift != "repair" && o.drift != "report" {
		return usageError{fmt.Errorf("--drift %q: use repair or report", o.drift)}
	}
	if err := checkVerification(o); err != nil {
		return err
	}
	return checkRunQueue(fs, o)
}

// addHostSecretFlags adds the flags naming the secrets the operator gives
// durable run on this host: the SOPS identity, the Git credentials, the
// secrets directory and variables, the webhook receivers' secrets.
func addHostSecretFlags(fs *pflag.FlagSet, o *runOptions) {
	fs.StringVar(&o.sopsAgeKeyFile, "sops-age-key-file", os.Getenv("SOPS_AGE_KEY_FILE"), "age identity file (as age-keygen writes it) that decrypts the repository's SOPS secrets (default $SOPS_AGE_KEY_FILE; without either, the identities in $SOPS_AGE_KEY); needed only when a service has a sops secret")
	fs.StringVar(&o.git.SSHKey, "git-ssh-key", "", "private key (readable by this user alone, no passphrase) that logs in to an ssh:// --repo")
	fs.StringVar(&o.git.KnownHosts, "git-known-hosts", "", "known_hosts file holding the ssh server's key (default ~/.ssh/known_hosts of this user)")
	fs.StringVar(&o.fleet.CA, "fleet-ca", "", "CA bundle the fleet's agents' certificates chain to (durable certs ca); with --fleet-cert and --fleet-key, targets may name a host of the inventory, whose durable agent runs them")
	fs.StringVar(&o.fleet.Cert, "fleet-cert", "", "this reconciler's client certificate for the fleet's agents (its name on their --allow list)")
	fs.StringVar(&o.fleet.Key, "fleet-key", "", "the key of --fleet-cert (readable by this user alone)")
	fs.StringVar(&o.commitKey, "commit-key", "", "SSH private key (readable by this user alone, no passphrase) that signs the commits Durable writes (rollbacks, approvals, --revert-on-failure); list its public half in the trust file's allowed signers when it wants signed commits")
	fs.StringVar(&o.git.TokenFile, "git-token-file", "", "file holding an access token for an https:// --repo, sent as the password of user "+source.TokenUser+" (readable by this user alone)")
	fs.StringVar(&o.secretsDir, "secrets-dir", "", "directory on this host (writable by the reconciler's user alone) holding the files that secretEnv.NAME.file names; without it, a revision with a file secret is rejected")
	fs.StringSliceVar(&o.secretEnv, "secret-env", nil, "variables of the reconciler that secretEnv.NAME.env may name: names, or prefixes ending in * (e.g. DB_PASSWORD,DURABLE_SECRET_*); none by default")
	fs.StringArrayVar(&o.webhookSecrets, "webhook-secret-file", nil, "KIND=FILE: receive KIND's pushes (github, gitlab, gitea or generic), and with --queue its pull requests marked ready, at POST /v1/webhooks/KIND, signed with the secret in FILE (readable by this user alone); repeat for each kind")
}

func newLogger(cmd *cobra.Command, format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: use text or json", format)}
}

// runOptions are the flags of durable run.
type runOptions struct {
	repo, branch, stateDir         string
	api                            listener.Config
	tokenFile                      string
	readTokens                     bool
	interval, resync               time.Duration
	policyDir, timezone, trustFile string
	scrapeTargets, drift           string
	sopsAgeKeyFile                 string
	git                            source.Credentials
	commitKey                      string
	fleet                          reconcile.Fleet
	hostConfig                     string
	notifyFile                     string
	secretsDir                     string
	secretEnv                      []string
	webhookSecrets                 []string
	revert                         bool
	policyTimeout                  time.Duration
	evaluationTimeout              time.Duration
	location                       *time.Location
	insecureSkipVerify             bool
	runAs                          *adapters.RunAs
	journalRetention               time.Duration
	etcd                           etcdOptions
	queue                          runQueueOptions
}

func runReconciler(ctx context.Context, log *slog.Logger, o runOptions) error {
	branch, stateDir := o.branch, o.stateDir
	if err := o.etcd.check(); err != nil {
		return err
	}
	hostSecrets, err := onhost.Open(o.secretsDir, o.secretEnv)
	if err != nil {
		return err
	}
	defer hostSecrets.Close()
	in, err := loadHostInputs(log, o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	if o.runAs != nil && int(o.runAs.UID) != os.Geteuid() {
		if err := o.runAs.CheckReach(stateDir); err != nil {
			return fmt.Errorf("--run-as %s: the instances run what is unpacked in --state: %w", o.runAs.Name, err)
		}
	}
	guard, err := apiPolicy(log, o)
	if err != nil {
		return err
	}
	// Bound before the reconciler starts, so that a refused address stops
	// it before it acts; calls wait in the backlog until it serves.
	l, err := listener.Listen(o.api)
	if err != nil {
		return fmt.Errorf("API: %w", err)
	}
	defer l.Close()
	p, err := newRunParts(log, o, in, hostSecrets)
	if err != nil {
		return err
	}
	defer p.isolation.Close()
	if o.etcd.on() {
		return runOnEtcd(ctx, p, guard, l)
	}
	st, journalFile, err := openJournal(stateDir)
	if err != nil {
		return err
	}
	defer st.Close()
	defer keepJournal(ctx, log, st, o.journalRetention)()
	status := &lateStatus{}
	metrics, err := newReconcilerMetrics(status, fileSize(journalFile))
	if err != nil {
		return err
	}
	observers, waitNotifier, err := journalObservers(ctx, log, in.notify, metrics)
	if err != nil {
		return err
	}
	defer waitNotifier()
	src, err := p.source(metrics)
	if err != nil {
		return err
	}
	rec, err := reconcile.New(ctx, p.config(), journal.Observed(st, observers...), src)
	if err != nil {
		return err
	}
	status.reconciler = rec
	view, stopQueue, err := startQueue(ctx, p, rec, metrics.reg)
	if err != nil {
		return err
	}
	defer stopQueue()
	h := withDashboard(ctx, log, server.WithMetrics(server.Handler(view, st, server.Webhooks{Secrets: in.webhookSecrets}), metrics.handler), dashboardParts{rec: rec, view: view, st: st, src: src, load: p.isolation.Load, trust: in.trust, signs: o.commitKey != ""})
	stopAPI := serveAPI(log, l, guard(h, l.Kind))
	defer stopAPI()
	log.Info("reconciler running", "repo", src.URL(), "branch", branch, "state", stateDir, "api", l.URL())
	return rec.Run(ctx)
}

// runParts are what a reconciler is built from, whichever its journal:
// the flags, the operator's files and secrets, the redactor, the
// evaluation's isolation and the state directory's absolute path.
type runParts struct {
	log       *slog.Logger
	o         runOptions
	in        hostInputs
	secrets   *onhost.Secrets
	red       *redact.Redactor
	isolation *schema.Warm
	stateDir  string
}

func newRunParts(log *slog.Logger, o runOptions, in hostInputs, hostSecrets *onhost.Secrets) (runParts, error) {
	abs, err := filepath.Abs(o.stateDir)
	if err != nil {
		return runParts{}, err
	}
	isolation, err := evaluationIsolation(o.evaluationTimeout)
	if err != nil {
		return runParts{}, err
	}
	// The adapters log through slog's default: secrets are redacted there
	// too, by the reconciler's redactor.
	red := redact.New()
	slog.SetDefault(slog.New(red.Handler(log.Handler())))
	return runParts{log: log, o: o, in: in, secrets: hostSecrets, red: red, isolation: schema.NewWarm(isolation), stateDir: abs}, nil
}

// source is the desired-state repository's source, its fetches counted
// by metrics.
func (p runParts) source(metrics *reconcilerMetrics) (*source.Source, error) {
	o, in := p.o, p.in
	return source.New(source.Config{URL: o.repo, Branch: o.branch, Dir: filepath.Join(o.stateDir, "source"), Interval: o.interval, Credentials: o.git, CommitKey: o.commitKey,
		FullHistory: in.trust != nil && in.trust.Commits.Mode == signing.CommitsStrict, Fetched: metrics.Fetched})
}

// config is the reconciler's configuration.
func (p runParts) config() reconcile.Config {
	o, in := p.o, p.in
	return reconcile.Config{Host: adapters.Host{StateDir: p.stateDir, RunAs: o.runAs, Config: in.hostConfig}, Fleet: o.fleet, Logger: p.log, Warnings: startWarnings(o),
		HostPolicies: in.policies, PolicyTimeout: o.policyTimeout, Location: o.location, Trust: in.trust,
		ScrapeTargets: o.scrapeTargets, DriftReportOnly: o.drift == "report", ResyncInterval: o.resync,
		RevertOnFailure: o.revert, SopsIdentities: in.sopsIDs, HostSecrets: p.secrets, Redactor: p.red, LoadState: p.isolation.Load}
}

// journalObservers are what follows the journal: the metrics and, with a
// notifications file, the notifier (started, its metrics registered with
// the others), with a wait for the notifier's end.
func journalObservers(ctx context.Context, log *slog.Logger, c *notify.Config, metrics *reconcilerMetrics) ([]journal.Observer, func(), error) {
	notifier, wait := startNotifier(ctx, log, c)
	if notifier == nil {
		return []journal.Observer{metrics}, wait, nil
	}
	if err := metrics.reg.Register(notifier); err != nil {
		return nil, wait, fmt.Errorf("register the notifications' metrics: %w", err)
	}
	return []journal.Observer{metrics, notifier}, wait, nil
}

// openJournal opens the journal in the state directory, and names its file.
func openJournal(stateDir string) (*journal.Bolt, string, error) {
	file := filepath.Join(stateDir, "journal.db")
	st, err := journal.OpenBolt(file, journal.BoltOptions{})
	return st, file, err
}

// evaluationIsolation evaluates revisions in a child process of this
// program, for at most timeout each. durable run keeps one started ahead
// (schema.Warm): a revision does not wait for the child's start-up.
func evaluationIsolation(timeout time.Duration) (schema.Isolation, error) {
	self, err := os.Executable()
	if err != nil {
		return schema.Isolation{}, fmt.Errorf("find this program to evaluate revisions in a child process: %w", err)
	}
	return schema.Isolation{Command: []string{self, "schema", "serve-isolated"}, Timeout: timeout}, nil
}

// hostInputs are what the operator of the host gives durable run in files:
// host policies, trust, the host file, SOPS identities, webhook secrets,
// the notifications file.
type hostInputs struct {
	policies   policy.Source
	trust      *signing.Trust
	hostConfig *hostconfig.Config
	sopsIDs    *sops.Identities
	notify     *notify.Config
	// webhookSecrets are the webhook receivers' secrets, by kind.
	webhookSecrets map[webhook.Kind][]byte
}

// loadHostInputs reads the operator's files; any that is given must read,
// or the reconciler does not start.
func loadHostInputs(log *slog.Logger, o runOptions) (hostInputs, error) {
	in := hostInputs{policies: policy.Source{Name: "host"}}
	if o.policyDir != "" {
		src, err := policy.ReadDir(o.policyDir, "host")
		if err != nil {
			return in, err
		}
		if src.Empty() {
			return in, fmt.Errorf("--policy-dir %s holds no .rego file", o.policyDir)
		}
		in.policies = src
	}
	if o.trustFile != "" {
		t, err := signing.LoadTrust(o.trustFile)
		if err != nil {
			return in, err
		}
		in.trust = t
	}
	hostConfig, err := loadHostConfig(log, o.hostConfig)
	if err != nil {
		return in, err
	}
	in.hostConfig = hostConfig
	if in.notify, err = loadNotify(o.notifyFile); err != nil {
		return in, err
	}
	if in.webhookSecrets, err = loadWebhookSecrets(o.webhookSecrets); err != nil {
		return in, err
	}
	for kind := range in.webhookSecrets {
		log.Info("webhook receiver enabled", "path", "/v1/webhooks/"+string(kind))
	}
	if err := checkFleet(log, o.fleet); err != nil {
		return in, err
	}
	sopsIDs, err := sopsIdentities(o.sopsAgeKeyFile)
	if err != nil {
		return in, err
	}
	in.sopsIDs = sopsIDs
	if sopsIDs != nil {
		log.Info("SOPS secrets decrypt with age identities", "from", sopsIDs.Source(), "recipients", strings.Join(sopsIDs.Recipients(), ","))
	}
	return in, nil
}

// serveAPI serves h on l until the returned function, which lets calls in
// flight finish for up to 5s, is called.
func serveAPI(log *slog.Logger, l net.Listener, h http.Handler) func() {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("API", "err", err)
		}
	}()
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
}

// sopsIdentities reads the age identities that decrypt SOPS secrets: from
// the file named, else from $SOPS_AGE_KEY. Neither is no error: only a
// service with a SOPS secret needs them, and its revision then says so. A
// source that is given must read, or the reconciler does not start.
func sopsIdentities(file string) (*sops.Identities, error) {
	// No child process (git, the isolated evaluation) needs the key.
	text := os.Getenv("SOPS_AGE_KEY")
	os.Unsetenv("SOPS_AGE_KEY")
	if file != "" {
		return sops.ReadIdentities(file)
	}
	if text != "" {
		return sops.ParseIdentities([]byte(text), "$SOPS_AGE_KEY")
	}
	return nil, nil
}

// checkFleet reads the fleet's credentials now, when they are given, so that
// a reconciler never starts with files it could not present to an agent.
func checkFleet(log *slog.Logger, f reconcile.Fleet) error {
	if f.CA == "" && f.Cert == "" && f.Key == "" {
		return nil
	}
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		return usageError{errors.New("--fleet-ca, --fleet-cert and --fleet-key go together: give all three, or none")}
	}
	if err := remote.CheckCredentials(f.CA, f.Cert, f.Key); err != nil {
		return fmt.Errorf("the fleet's credentials: %w", err)
	}
	log.Info("fleet agents reached over mutual TLS", "ca", f.CA, "cert", f.Cert)
	return nil
}
