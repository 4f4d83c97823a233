package notify

import (
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// Kind is how a sink is sent an event.
type Kind string

// Sink kinds.
const (
	Webhook     Kind = "webhook"     // the event as JSON, HMAC-SHA256 signed
	Slack       Kind = "slack"       // a Slack incoming webhook: {"text": summary}
	CloudEvents Kind = "cloudevents" // a CloudEvents 1.0 structured JSON event
)

// Config is a loaded notifications file.
type Config struct {
	// File is the path it was loaded from.
	File string
	// Sinks are sorted by name.
	Sinks []Sink
}

// Sink is one receiver of events and how they reach it.
type Sink struct {
	Name string
	Kind Kind
	// URL is where events are posted. A Slack sink's is a secret, read
	// from its urlFile: never print it.
	URL string
	// Secret signs each body (X-Durable-Signature-256); a webhook needs
	// one, a CloudEvents sink may have one.
	Secret []byte
	// Source is a CloudEvent's source attribute.
	Source string
	// Events are the types the sink wants.
	Events map[Type]bool
	// Timeout bounds one request; Attempts the requests per event; Backoff
	// the wait before the first retry, doubled for each next (jittered,
	// at most maxBackoff); Queue the events waiting for the sink, the
	// oldest dropped beyond it.
	Timeout  time.Duration
	Attempts int
	Backoff  time.Duration
	Queue    int
}

// Defaults and bounds of a sink's delivery settings.
const (
	defaultTimeout  = 10 * time.Second
	defaultAttempts = 5
	defaultBackoff  = time.Second
	defaultQueue    = 1000
	defaultSource   = "/durable"
	maxBackoff      = time.Minute
	maxQueue        = 10000
	maxAttempts     = 10
	maxSinks        = 32
	maxURL          = 2048
	// maxFile bounds the notifications file and maxSecret a secret or URL
	// file: a mistake (a log file given) must not fill memory.
	maxFile   = 1 << 20
	maxSecret = 4 << 10
	minSecret = 16
)

// nameRE is what a sink may be named: it is a label of the metrics.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

var sinkFields = []string{"kind", "url", "urlFile", "secretFile", "source", "events", "timeout", "attempts", "backoff", "queue"}

// Load reads a notifications file (YAML, or JSON, which is YAML too):
//
//	sinks:
//	  ops:                                   # a name: 1 to 63 of a-z, 0-9, '-'
//	    kind: webhook                        # webhook | slack | cloudevents
//	    url: "https://hooks.example.com/durable"
//	    secretFile: "ops.secret"             # signs each body; required for a webhook
//	    events: [revision.rejected, rollout.failed, rollout.rolled-back]
//	  team:
//	    kind: slack
//	    urlFile: "team-slack.url"            # the incoming webhook's URL is a secret
//	    events: ["*"]                        # every type
//	  bus:
//	    kind: cloudevents
//	    url: "http://127.0.0.1:8088/events"
//	    source: "/durable/prod"              # optional, default /durable
//	    events: [rollout.started, rollout.promoted]
//	    timeout: 10s                         # one request; default 10s
//	    attempts: 5                          # requests per event; default 5
//	    backoff: 1s                          # before the first retry, doubling; default 1s
//	    queue: 1000                          # events waiting; the oldest dropped beyond; default 1000
//
// Paths are relative to the file's folder. The file, and each secret file
// it names, is refused when another local user could have written it
// (internal/hostfile); a secret file as well when they could read it. It
// is decoded strictly, and every problem is reported, positioned, as
// Errors.
func Load(file string) (*Config, error) {
	data, err := hostfile.ReadText(file, "notifications file", "send the reconciler's events to a receiver of theirs, or stop them",
		"write it (docs/operating.md, \"Notifications\") or fix the path given to --notify", maxFile)
	if err != nil {
		return nil, Errors{file + ": " + err.Error()}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{hostfile.YAMLSyntaxError(file, err)}
	}
	if len(doc.Content) == 0 {
		return nil, Errors{file + ": the notifications file is empty; declare sinks: (docs/operating.md, \"Notifications\")"}
	}
	d := &decoder{file: file}
	c := &Config{File: file}
	root := doc.Content[0]
	fields := d.mapping(root, "the notifications file", "sinks")
	if len(fields) == 0 && root.Kind == yaml.MappingNode {
		d.errorf(root, "sinks is missing; add sinks: {NAME: {kind: webhook, url: ..., secretFile: ..., events: [...]}}")
	}
	for _, f := range fields {
		c.Sinks = d.sinks(f.value, dirOf(file))
	}
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return c, nil
}

// sinks decodes the sinks mapping, sorted by name.
func (d *decoder) sinks(n *yaml.Node, dir string) []Sink {
	fields := d.mapping(n, "sinks")
	if len(fields) == 0 && n.Kind == yaml.MappingNode {
		d.errorf(n, "sinks names none; add one, e.g. ops: {kind: webhook, url: ..., secretFile: ..., events: [rollout.failed]}")
	}
	if len(fields) > maxSinks {
		d.errorf(n, "sinks names %d sinks; at most %d: each has a queue and a worker of its own", len(fields), maxSinks)
		return nil
	}
	var out []Sink
	for _, f := range fields {
		name := f.key.Value
		if !nameRE.MatchString(name) {
			d.errorf(f.key, "sinks: %q is not a name; name it with 1 to 63 lowercase letters, digits or '-', starting with a letter or digit (it labels the metrics)", name)
			continue
		}
		if s, ok := d.sink(f.value, "sinks."+name, dir); ok {
			s.Name = name
			out = append(out, s)
		}
	}
	slicesSortByName(out)
	return out
}
