package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
)

// maxBranch bounds a branch name a pull request event may give.
const maxBranch = 200

// PullRequestEvent is what a pull request (GitLab: merge request) event
// says to a merge queue: the branch it proposes, the branch it targets,
// and whether the event marks it ready to land — opened or reopened as no
// draft, or a draft marked ready — with Why saying otherwise.
type PullRequestEvent struct {
	Branch string
	Base   string
	Ready  bool
	Why    string
}

// githubPull is the part of a GitHub or Gitea pull_request event read.
type githubPull struct {
	Action      string `json:"action"`
	PullRequest *struct {
		Draft bool `json:"draft"`
		Head  struct {
			Ref  string `json:"ref"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"head"`
		Base struct {
			Ref  string `json:"ref"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
}

// gitlabMerge is the part of a GitLab merge request event read.
type gitlabMerge struct {
	ObjectKind string `json:"object_kind"`
	Attributes *struct {
		Action          string `json:"action"`
		Draft           bool   `json:"draft"`
		WorkInProgress  bool   `json:"work_in_progress"`
		SourceBranch    string `json:"source_branch"`
		TargetBranch    string `json:"target_branch"`
		SourceProjectID int64  `json:"source_project_id"`
		TargetProjectID int64  `json:"target_project_id"`
	} `json:"object_attributes"`
	Changes struct {
		Draft *struct {
			Previous bool `json:"previous"`
			Current  bool `json:"current"`
		} `json:"draft"`
	} `json:"changes"`
}

// ParsePullRequest reads kind's pull request event from payload (JSON, at
// most MaxBody bytes). A malformed payload, or a branch name no Git branch
// has, is ErrMalformed, naming what is wrong.
func ParsePullRequest(kind Kind, payload []byte) (PullRequestEvent, error) {
	var ev PullRequestEvent
	var err error
	switch kind {
	case GitHub, Gitea:
		ev, err = parseGitHubPull(payload)
	case GitLab:
		ev, err = parseGitLabMerge(payload)
	default:
		return ev, fmt.Errorf("%w: %s deliveries carry no pull request events", ErrMalformed, kind)
	}
	if err != nil {
		return ev, err
	}
	for _, b := range []struct{ what, name string }{{"head branch", ev.Branch}, {"base branch", ev.Base}} {
		if err := checkBranchName(b.name); err != nil {
			return PullRequestEvent{}, fmt.Errorf("%w: the %s %v", ErrMalformed, b.what, err)
		}
	}
	return ev, nil
}

func parseGitHubPull(payload []byte) (PullRequestEvent, error) {
	var p githubPull
	if err := json.Unmarshal(payload, &p); err != nil {
		return PullRequestEvent{}, jsonError(err, 0)
	}
	if p.PullRequest == nil {
		return PullRequestEvent{}, fmt.Errorf(`%w: the pull request event has no "pull_request" object`, ErrMalformed)
	}
	pr := p.PullRequest
	ev := PullRequestEvent{Branch: pr.Head.Ref, Base: pr.Base.Ref}
	switch {
	case pr.Head.Repo == nil || pr.Base.Repo == nil || pr.Head.Repo.FullName != pr.Base.Repo.FullName:
		ev.Why = "the pull request comes from another repository (a fork): the queue lands branches of the repository itself"
	case p.Action == "ready_for_review":
		ev.Ready = true
	case p.Action != "opened" && p.Action != "reopened":
		ev.Why = fmt.Sprintf("action %.40q: only a pull request opened, reopened or marked ready for review is enqueued", p.Action)
	case pr.Draft:
		ev.Why = "the pull request is a draft: it is enqueued once marked ready for review"
	default:
		ev.Ready = true
	}
	return ev, nil
}

func parseGitLabMerge(payload []byte) (PullRequestEvent, error) {
	var m gitlabMerge
	if err := json.Unmarshal(payload, &m); err != nil {
		return PullRequestEvent{}, jsonError(err, 0)
	}
	if m.ObjectKind != "merge_request" || m.Attributes == nil {
		return PullRequestEvent{}, fmt.Errorf(`%w: the merge request event has no "object_attributes" of object_kind "merge_request"`, ErrMalformed)
	}
	a := m.Attributes
	ev := PullRequestEvent{Branch: a.SourceBranch, Base: a.TargetBranch}
	draft := a.Draft || a.WorkInProgress
	switch {
	case a.SourceProjectID != a.TargetProjectID:
		ev.Why = "the merge request comes from another project (a fork): the queue lands branches of the repository itself"
	case a.Action == "update" && m.Changes.Draft != nil && m.Changes.Draft.Previous && !m.Changes.Draft.Current:
		ev.Ready = true
	case a.Action != "open" && a.Action != "reopen":
		ev.Why = fmt.Sprintf("action %.40q: only a merge request opened, reopened or marked ready is enqueued", a.Action)
	case draft:
		ev.Why = "the merge request is a draft: it is enqueued once marked ready"
	default:
		ev.Ready = true
	}
	return ev, nil
}

// checkBranchName refuses what no Git branch is called: empty, too long,
// control characters, spaces, and Git's own forbidden forms. The queue
// checks the name again with git check-ref-format.
func checkBranchName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("is empty")
	case len(name) > maxBranch:
		return fmt.Errorf("is %d bytes long, more than %d", len(name), maxBranch)
	case strings.ContainsFunc(name, func(r rune) bool { return isControl(r) || strings.ContainsRune(" ~^:?*[\\", r) }):
		return fmt.Errorf("%.60q holds a character no branch name has", name)
	case strings.HasPrefix(name, "-") || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") ||
		strings.HasSuffix(name, ".") || strings.HasSuffix(name, ".lock") || strings.Contains(name, "..") ||
		strings.Contains(name, "//") || strings.Contains(name, "@{"):
		return fmt.Errorf("%.60q is not a name Git takes for a branch", name)
	}
	return nil
}
