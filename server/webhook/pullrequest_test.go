package webhook

import (
	"errors"
	"strings"
	"testing"
)

// githubPR is a GitHub (or Gitea) pull_request event of action on head
// into base, a draft or not, from the repository itself or a fork.
func githubPR(action, head, base string, draft, fork bool) string {
	from := "ops/desired"
	if fork {
		from = "someone/desired"
	}
	return `{"action":"` + action + `","number":7,"pull_request":{"draft":` + map[bool]string{true: "true", false: "false"}[draft] +
		`,"head":{"ref":"` + head + `","sha":"` + strings.Repeat("a", 40) + `","repo":{"full_name":"` + from + `"}},` +
		`"base":{"ref":"` + base + `","repo":{"full_name":"ops/desired"}}}}`
}

// gitlabMR is a GitLab merge request event.
func gitlabMR(action, source, target string, draft bool, changes string) string {
	return `{"object_kind":"merge_request","object_attributes":{"action":"` + action + `","draft":` + map[bool]string{true: "true", false: "false"}[draft] +
		`,"source_branch":"` + source + `","target_branch":"` + target + `","source_project_id":4,"target_project_id":4},"changes":{` + changes + `}}`
}

// TestParsePullRequest: which events mark a pull request ready to enqueue,
// and why the others do not; hostile and malformed payloads refused as
// ErrMalformed, naming what is wrong.
func TestParsePullRequest(t *testing.T) {
	for _, c := range []struct {
		name    string
		kind    Kind
		payload string
		ready   bool
		say     string // part of Why, or of the error
		err     bool
	}{
		{"github opened", GitHub, githubPR("opened", "queue/web-v2", "main", false, false), true, "", false},
		{"github reopened", GitHub, githubPR("reopened", "feature/x", "main", false, false), true, "", false},
		{"github marked ready", GitHub, githubPR("ready_for_review", "web-v2", "main", false, false), true, "", false},
		{"github opened as a draft", GitHub, githubPR("opened", "web-v2", "main", true, false), false, "draft", false},
		{"github pushed to", GitHub, githubPR("synchronize", "web-v2", "main", false, false), false, "synchronize", false},
		{"github closed", GitHub, githubPR("closed", "web-v2", "main", false, false), false, "closed", false},
		{"github from a fork", GitHub, githubPR("opened", "web-v2", "main", false, true), false, "fork", false},
		{"gitea opened", Gitea, githubPR("opened", "web-v2", "main", false, false), true, "", false},
		{"gitlab opened", GitLab, gitlabMR("open", "web-v2", "main", false, ""), true, "", false},
		{"gitlab opened as a draft", GitLab, gitlabMR("open", "web-v2", "main", true, ""), false, "draft", false},
		{"gitlab draft marked ready", GitLab, gitlabMR("update", "web-v2", "main", false, `"draft":{"previous":true,"current":false}`), true, "", false},
		{"gitlab updated otherwise", GitLab, gitlabMR("update", "web-v2", "main", false, `"title":{"previous":"a","current":"b"}`), false, "update", false},
		{"gitlab from a fork", GitLab, strings.Replace(gitlabMR("open", "web-v2", "main", false, ""), `"source_project_id":4`, `"source_project_id":5`, 1), false, "fork", false},
		{"not JSON", GitHub, `{"action":`, false, "unexpected end of JSON input", true},
		{"a draft that is a string", GitHub, strings.Replace(githubPR("opened", "a", "main", false, false), `"draft":false`, `"draft":"no"`, 1), false, "draft", true},
		{"no pull_request", GitHub, `{"action":"opened"}`, false, "pull_request", true},
		{"gitlab push as a merge request", GitLab, `{"object_kind":"push","ref":"refs/heads/main"}`, false, "object_attributes", true},
		{"empty head", GitHub, githubPR("opened", "", "main", false, false), false, "head branch is empty", true},
		{"head with a space", GitHub, githubPR("opened", "a b", "main", false, false), false, "no branch name has", true},
		{"head with a NUL", GitHub, githubPR("opened", `a\u0000b`, "main", false, false), false, "no branch name has", true},
		{"head with ..", GitHub, githubPR("opened", "a/../b", "main", false, false), false, "not a name Git takes", true},
		{"head starting with -", GitHub, githubPR("opened", "-x", "main", false, false), false, "not a name Git takes", true},
		{"head ending in .lock", GitHub, githubPR("opened", "x.lock", "main", false, false), false, "not a name Git takes", true},
		{"head of 201 bytes", GitHub, githubPR("opened", strings.Repeat("b", 201), "main", false, false), false, "201 bytes", true},
		{"base with a control character", GitHub, githubPR("opened", "x", `ma\u001bin`, false, false), false, "base branch", true},
		{"generic has none", Generic, githubPR("opened", "x", "main", false, false), false, "no pull request", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := ParsePullRequest(c.kind, []byte(c.payload))
			if c.err {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.say) {
					t.Fatalf("ParsePullRequest: %+v, %v; want ErrMalformed saying %q", ev, err, c.say)
				}
				return
			}
			if err != nil || ev.Ready != c.ready || !strings.Contains(ev.Why, c.say) || ev.Base != "main" {
				t.Fatalf("ParsePullRequest: %+v, %v; want ready %v, why saying %q", ev, err, c.ready, c.say)
			}
		})
	}
}

// FuzzParsePullRequest parses fuzzed bodies as each forge's pull request
// event: it must not panic, refuses with ErrMalformed, or gives branch
// names that pass the name check, and says why whenever it is not ready.
func FuzzParsePullRequest(f *testing.F) {
	f.Add(byte(0), []byte(githubPR("opened", "queue/web-v2", "main", false, false)))
	f.Add(byte(1), []byte(gitlabMR("update", "web", "main", false, `"draft":{"previous":true,"current":false}`)))
	f.Add(byte(2), []byte(githubPR("ready_for_review", "a/b", "main", true, true)))
	f.Add(byte(1), []byte(`{"object_kind":"merge_request","object_attributes":null}`))
	f.Add(byte(0), []byte(`{"pull_request":{"head":{"ref":"\ud800"}}}`))
	f.Fuzz(func(t *testing.T, which byte, body []byte) {
		kind := []Kind{GitHub, GitLab, Gitea}[int(which)%3]
		ev, err := ParsePullRequest(kind, body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if checkBranchName(ev.Branch) != nil || checkBranchName(ev.Base) != nil {
			t.Fatalf("accepted names %q and %q", ev.Branch, ev.Base)
		}
		if ev.Ready == (ev.Why != "") {
			t.Fatalf("ready %v with why %q", ev.Ready, ev.Why)
		}
	})
}
