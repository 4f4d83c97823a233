package notify

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/durable-delivery/durable/internal/hostfile"
)

// sink decodes one sink; ok is false when it has an error (reported).
func (d *decoder) sink(n *yaml.Node, where, dir string) (Sink, bool) {
	before := len(d.errs)
	s := Sink{Timeout: defaultTimeout, Attempts: defaultAttempts, Backoff: defaultBackoff, Queue: defaultQueue}
	fields := map[string]*yaml.Node{}
	for _, f := range d.mapping(n, where, sinkFields...) {
		fields[f.key.Value] = f.value
	}
	if n.Kind != yaml.MappingNode {
		return s, false
	}
	s.Kind = d.kind(n, fields["kind"], where)
	d.target(n, fields, where, dir, &s)
	if v, ok := fields["events"]; ok {
		s.Events = d.events(v, where+".events")
	} else {
		d.errorf(n, "%s: events is missing; list the types it wants, e.g. events: [rollout.failed, revision.rejected], or events: [\"*\"] for all", where)
	}
	if v, ok := fields["timeout"]; ok {
		s.Timeout = d.duration(v, where+".timeout", 10*time.Millisecond, 2*time.Minute)
	}
	if v, ok := fields["backoff"]; ok {
		s.Backoff = d.duration(v, where+".backoff", time.Millisecond, maxBackoff)
	}
	if v, ok := fields["attempts"]; ok {
		s.Attempts = d.integer(v, where+".attempts", 1, maxAttempts)
	}
	if v, ok := fields["queue"]; ok {
		s.Queue = d.integer(v, where+".queue", 1, maxQueue)
	}
	return s, len(d.errs) == before
}

// kind decodes a sink's kind, which is required.
func (d *decoder) kind(n, v *yaml.Node, where string) Kind {
	how := "write kind: webhook, slack or cloudevents"
	if v == nil {
		d.errorf(n, "%s: kind is missing; %s", where, how)
		return ""
	}
	s, ok := d.str(v, where+".kind", how)
	switch k := Kind(s); {
	case !ok:
	case k == Webhook || k == Slack || k == CloudEvents:
		return k
	default:
		d.errorf(v, "%s.kind: %q is not a sink kind; %s", where, s, how)
	}
	return ""
}

// target decodes where a sink's events go, as its kind wants: a URL, or a
// Slack sink's URL file, a secret file, a CloudEvents source.
func (d *decoder) target(n *yaml.Node, fields map[string]*yaml.Node, where, dir string, s *Sink) {
	allowed := map[Kind][]string{Webhook: {"url", "secretFile"}, Slack: {"urlFile"}, CloudEvents: {"url", "secretFile", "source"}}[s.Kind]
	for _, f := range []string{"url", "urlFile", "secretFile", "source"} {
		if v, ok := fields[f]; ok && s.Kind != "" && !slices.Contains(allowed, f) {
			d.errorf(v, "%s: a %s sink has no %s (it takes %s)", where, s.Kind, f, strings.Join(allowed, ", "))
			delete(fields, f)
		}
	}
	switch s.Kind {
	case Webhook, CloudEvents:
		if v, ok := fields["url"]; ok {
			s.URL = d.url(v, where+".url")
		} else {
			d.errorf(n, "%s: url is missing; write the receiver's address, url: \"https://HOST/PATH\"", where)
		}
	case Slack:
		if v, ok := fields["urlFile"]; ok {
			s.URL = d.urlFile(v, where+".urlFile", dir)
		} else {
			d.errorf(n, "%s: urlFile is missing; write the incoming webhook's URL in a file readable by the reconciler's user alone, and name it: urlFile: \"/etc/durable/slack.url\"", where)
		}
	}
	if v, ok := fields["secretFile"]; ok {
		s.Secret = d.secretFile(v, where+".secretFile", dir)
	} else if s.Kind == Webhook {
		d.errorf(n, "%s: secretFile is missing; a webhook's body is signed: write a random secret (e.g. openssl rand -hex 32) in a file readable by the reconciler's user alone, and name it", where)
	}
	s.Source = defaultSource
	if v, ok := fields["source"]; ok {
		if src, ok := d.str(v, where+".source", "write a URI reference, e.g. \"/durable/prod\""); ok {
			if u, err := url.Parse(src); err != nil || src == "" || len(src) > maxURL || u.String() != src {
				d.errorf(v, "%s: %q is not a URI reference; write one, e.g. \"/durable/prod\"", where+".source", src)
			}
			s.Source = src
		}
	}
}

// url decodes a receiver's address.
func (d *decoder) url(v *yaml.Node, where string) string {
	s, ok := d.str(v, where, "write \"https://HOST/PATH\"")
	if !ok {
		return ""
	}
	if err := checkURL(s); err != nil {
		d.errorf(v, "%s: %q %v", where, s, err)
		return ""
	}
	return s
}

// checkURL accepts an absolute http(s) URL without credentials.
func checkURL(s string) error {
	if len(s) > maxURL {
		return fmt.Errorf("is longer than %d bytes; is it the right address?", maxURL)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL; write \"https://HOST/PATH\"")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("is not an http or https URL; write \"https://HOST/PATH\"")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("names no host; write \"https://HOST/PATH\"")
	case u.User != nil:
		return errors.New("holds credentials, which this file must not (it is not a secret); sign with secretFile instead")
	case u.Fragment != "" || strings.HasSuffix(s, "#"):
		return errors.New("has a fragment (#...), which is never sent; remove it")
	}
	return nil
}

// urlFile reads a Slack incoming webhook's URL from a secret file; no
// message repeats what it holds.
func (d *decoder) urlFile(v *yaml.Node, where, dir string) string {
	b := d.secret(v, where, dir, "Slack URL file", "read the URL and post to the channel")
	if b == nil {
		return ""
	}
	if err := checkURL(string(b)); err != nil {
		d.errorf(v, "%s: the URL it holds %v", where, err)
		return ""
	}
	return string(b)
}

// secretFile reads a signing secret.
func (d *decoder) secretFile(v *yaml.Node, where, dir string) []byte {
	b := d.secret(v, where, dir, "notification secret file", "read the secret and sign events of their own")
	if b != nil && len(b) < minSecret {
		d.errorf(v, "%s: the secret is %d bytes; use at least %d (e.g. openssl rand -hex 32)", where, len(b), minSecret)
		return nil
	}
	return b
}

// secret reads a one-line secret from the file v names, relative to dir.
func (d *decoder) secret(v *yaml.Node, where, dir, what, risk string) []byte {
	name, ok := d.str(v, where, "write the path of the file")
	if !ok {
		return nil
	}
	if name == "" {
		d.errorf(v, "%s is empty; write the path of the file", where)
		return nil
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	b, err := hostfile.ReadSecret(name, what, risk, maxSecret)
	if err != nil {
		d.errorf(v, "%s: %v", where, err)
		return nil
	}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		d.errorf(v, "%s: %s is empty; write the value on one line", where, name)
		return nil
	case bytes.ContainsAny(b, "\r\n\x00"):
		d.errorf(v, "%s: %s holds more than one line; the file holds the value alone, on one line", where, name)
		return nil
	}
	return b
}

// events decodes the event types a sink wants.
func (d *decoder) events(v *yaml.Node, where string) map[Type]bool {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	how := "list types among " + strings.Join(names, ", ") + `, or "*" for all`
	items := d.list(v, where, how)
	if v.Kind == yaml.SequenceNode && len(items) == 0 {
		d.errorf(v, "%s is empty: the sink would be sent nothing; %s", where, how)
	}
	out := map[Type]bool{}
	for i, it := range items {
		s, ok := d.str(it, fmt.Sprintf("%s[%d]", where, i), how)
		switch {
		case !ok:
		case s == "*":
			for _, t := range Types {
				out[t] = true
			}
		case !slices.Contains(Types, Type(s)):
			d.errorf(it, "%s[%d]: %q is not an event type; %s", where, i, s, how)
		default:
			out[Type(s)] = true
		}
	}
	return out
}

// duration is a Go duration string from lo to hi.
func (d *decoder) duration(v *yaml.Node, where string, lo, hi time.Duration) time.Duration {
	s, ok := d.str(v, where, fmt.Sprintf("write a duration from %s to %s, e.g. \"10s\"", lo, hi))
	if !ok {
		return 0
	}
	t, err := time.ParseDuration(s)
	if err != nil || t < lo || t > hi {
		d.errorf(v, "%s: %q is not a duration from %s to %s; write one, e.g. \"10s\"", where, s, lo, hi)
		return 0
	}
	return t
}

func dirOf(file string) string { return filepath.Dir(file) }

func slicesSortByName(s []Sink) {
	slices.SortFunc(s, func(a, b Sink) int { return strings.Compare(a.Name, b.Name) })
}
