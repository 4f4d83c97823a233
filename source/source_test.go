package source

import (
	"strings"
	"testing"
	"time"
)

func TestNewDefaults(t *testing.T) {
	s, err := New(Config{URL: "https://example.test/org/desired.git", Dir: "cache"})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Branch != "main" || s.cfg.Interval != 30*time.Second || s.cfg.Jitter != 0.1 ||
		s.cfg.MaxFiles != 5000 || s.cfg.MaxBytes != 64<<20 {
		t.Errorf("defaults = %+v", s.cfg)
	}
	if !strings.HasPrefix(s.cfg.Dir, "/") {
		t.Errorf("Dir %q not made absolute", s.cfg.Dir)
	}
	if s.Branch() != "main" || s.URL() != "https://example.test/org/desired.git" {
		t.Errorf("Branch, URL = %q, %q", s.Branch(), s.URL())
	}
}

func TestNewURLForms(t *testing.T) {
	cases := map[string]string{
		"/srv/repos/desired":                  "file:///srv/repos/desired",
		"file:///srv/repos/desired":           "file:///srv/repos/desired",
		"file://localhost/srv/repos/desired":  "file:///srv/repos/desired",
		"/srv/repos/with space":               "file:///srv/repos/with%20space",
		"ssh://git@example.test/org/repo.git": "ssh://git@example.test/org/repo.git",
		"http://127.0.0.1:8080/repo.git":      "http://127.0.0.1:8080/repo.git",
		"https://u:tok3n@example.test/r.git":  "https://u:xxxxx@example.test/r.git",
	}
	for in, want := range cases {
		cfg := Config{URL: in, Dir: "/tmp/cache"}
		if strings.HasPrefix(in, "ssh:") {
			cfg.Credentials = sshCredentials(t)
		}
		s, err := New(cfg)
		if err != nil {
			t.Errorf("New(%q): %v", in, err)
			continue
		}
		if s.URL() != want {
			t.Errorf("New(%q).URL() = %q, want %q", in, s.URL(), want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := Config{URL: "/srv/repo", Dir: "/tmp/cache"}
	cases := map[string]struct {
		edit func(*Config)
		want string
	}{
		"empty URL":         {func(c *Config) { c.URL = "" }, "source URL is empty"},
		"unsupported":       {func(c *Config) { c.URL = "ftp://example.test/repo" }, `unsupported scheme "ftp"`},
		"git protocol":      {func(c *Config) { c.URL = "git://example.test/repo" }, `unsupported scheme "git"`},
		"ext transport":     {func(c *Config) { c.URL = "ext::sh -c touch% /tmp/pwned" }, ""},
		"remote file URL":   {func(c *Config) { c.URL = "file://server/share/repo" }, `names host "server"`},
		"relative file URL": {func(c *Config) { c.URL = "file://" }, "no absolute path"},
		"http without host": {func(c *Config) { c.URL = "http:///repo" }, "has no host"},
		"password hidden":   {func(c *Config) { c.URL = "gopher://u:s3cret@example.test/" }, "u:xxxxx@"},
		"bad URL":           {func(c *Config) { c.URL = "http://[::1/repo" }, "does not parse"},
		"bad branch":        {func(c *Config) { c.Branch = "a..b" }, `branch "a..b" is not a valid branch name`},
		"full ref":          {func(c *Config) { c.Branch = "refs/heads/main" }, "not a valid branch name"},
		"no dir":            {func(c *Config) { c.Dir = "" }, "cache directory is empty"},
		"negative interval": {func(c *Config) { c.Interval = -time.Second }, "interval -1s is negative"},
		"jitter too big":    {func(c *Config) { c.Jitter = 1.5 }, "jitter 1.5 is out of range"},
		"negative jitter":   {func(c *Config) { c.Jitter = -0.1 }, "out of range"},
		"negative files":    {func(c *Config) { c.MaxFiles = -1 }, "file cap -1"},
		"negative bytes":    {func(c *Config) { c.MaxBytes = -1 }, "byte cap -1"},
	}
	for name, c := range cases {
		cfg := ok
		c.edit(&cfg)
		s, err := New(cfg)
		if name == "ext transport" {
			// Not a URL: taken as a local path, which go-git reads with
			// git-upload-pack and never hands to a remote helper.
			if err != nil || !strings.HasPrefix(s.URL(), "file:///") {
				t.Errorf("%s: New = %v, %v; want a file:// URL", name, s, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %q shows the password", name, err)
		}
	}
	// Every problem is reported at once.
	_, err := New(Config{Jitter: 2, MaxFiles: -1})
	for _, want := range []string{"URL is empty", "directory is empty", "jitter", "file cap"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("combined error %v does not mention %q", err, want)
		}
	}
}
