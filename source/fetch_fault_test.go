package source

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/hangtest"
)

// TestFetchFromHungRemote: a Git server that accepts and never answers
// (over HTTP or SSH), or one that sends its headers and then nothing, fails
// the fetch at
// fetchTimeout (or the caller's deadline when sooner), saying the remote
// did not answer; one nothing listens for fails at once.
func TestFetchFromHungRemote(t *testing.T) {
	saved := fetchTimeout
	fetchTimeout = 300 * time.Millisecond // 2 min in production
	t.Cleanup(func() { fetchTimeout = saved })
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("001e# service=git-upload-pack\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(stalled.Close)
	cases := []struct {
		name, url string
		deadline  time.Duration
		want      string
		creds     bool // an SSH key and known hosts (the SSH remotes)
	}{
		{"hung", "http://" + hangtest.FakeHungTCP(t), time.Minute, "did not answer within 300ms", false},
		{"stalled body", stalled.URL, time.Minute, "did not answer within 300ms", false},
		{"hung, caller's deadline", "http://" + hangtest.FakeHungTCP(t), 150 * time.Millisecond, "deadline exceeded", false},
		{"down", "http://" + hangtest.FakeDownTCP(t), time.Minute, "the remote is unreachable (check the URL", false},
		{"hung over SSH", "ssh://git@" + hangtest.FakeHungTCP(t), time.Minute, "did not answer within 300ms", true},
		{"down over SSH", "ssh://git@" + hangtest.FakeDownTCP(t), time.Minute, "the remote is unreachable (check the URL", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := c.url + "/repo.git"
			cfg := Config{URL: url}
			if c.creds {
				cfg.Credentials = sshCredentials(t)
			}
			s := newSource(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
			defer cancel()
			start := time.Now()
			_, err := s.Fetch(ctx)
			took := time.Since(start)
			t.Logf("after %s: %v", took.Round(time.Millisecond), err)
			if err == nil || took > time.Second {
				t.Fatalf("%v after %s; want an error within 1s", err, took)
			}
			if !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v does not name %s and say %q", err, url, c.want)
			}
		})
	}
}
