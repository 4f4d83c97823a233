package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// ApprovalsDir is the repository folder that holds approval files.
const ApprovalsDir = "approvals"

const (
	maxApprovalFiles = 1000
	maxApprovalBytes = 16 << 10
)

// ApprovalFile is what an approval file holds: one release approved for one
// stage. `durable approve` writes it.
type ApprovalFile struct {
	Release string `json:"release"`
	Stage   string `json:"stage"`
	By      string `json:"by"`
	Reason  string `json:"reason,omitempty"`
}

var releasePrefix = regexp.MustCompile(`^[a-f0-9]{12,64}$`)

// readApprovals reads approvals/*.json of a revision. Each approval keeps
// the commit that first carried it (from prev, the last accepted
// revision's approvals); a new one is attributed to the revision's commit:
// its ID, its author and its verified signer (nil when commits are not
// verified). A release written as a prefix is resolved against the
// revision's releases.
func readApprovals(files fs.FS, ds *schema.DesiredState, prev []policy.Approval, commit policy.Commit) ([]policy.Approval, error) {
	entries, err := fs.ReadDir(files, ApprovalsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return []policy.Approval{}, nil
	}
	if err != nil {
		return nil, err
	}
	if len(entries) > maxApprovalFiles {
		return nil, fmt.Errorf("%s: %d files, more than %d; remove approvals of releases long gone", ApprovalsDir, len(entries), maxApprovalFiles)
	}
	stages := map[string]bool{}
	for _, s := range ds.Pipeline.Stages {
		stages[s.Name] = true
	}
	seen := map[string]policy.Approval{}
	for _, a := range prev {
		seen[approvalKey(a)] = a
	}
	var errs []string
	out := []policy.Approval{}
	for _, e := range entries {
		name := path.Join(ApprovalsDir, e.Name())
		if e.IsDir() || path.Ext(e.Name()) != ".json" {
			continue
		}
		a, err := readApproval(files, name, stages)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, svc := range ds.Services {
			if id := svc.ReleaseID(); strings.HasPrefix(id, a.Release) {
				a.Release = id
			}
		}
		if old, ok := seen[approvalKey(a)]; ok {
			a.Commit, a.Author, a.Signer, a.Verified = old.Commit, old.Author, old.Signer, old.Verified
		} else {
			a.Commit, a.Author, a.Signer, a.Verified = commit.ID, commit.Author, commit.Signer, commit.Signer != nil
		}
		out = append(out, a)
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

func approvalKey(a policy.Approval) string {
	return strings.Join([]string{a.File, a.Release, a.Stage, a.By, a.Reason}, "\x00")
}

func readApproval(files fs.FS, name string, stages map[string]bool) (policy.Approval, error) {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return policy.Approval{}, fmt.Errorf("%s: %v", name, err)
	}
	if len(b) > maxApprovalBytes {
		return policy.Approval{}, fmt.Errorf("%s: %d bytes, more than the %d an approval may hold", name, len(b), maxApprovalBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f ApprovalFile
	if err := dec.Decode(&f); err != nil {
		return policy.Approval{}, jsonError(name, b, err)
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return policy.Approval{}, jsonError(name, b, &trailingTextError{Offset: int64(len(b) - len(rest))})
	}
	fix := `; an approval is {"release": "<release id>", "stage": "<stage>", "by": "<who>", "reason": "<why>"}, written by durable approve`
	switch {
	case !releasePrefix.MatchString(f.Release):
		return policy.Approval{}, fmt.Errorf("%s:1:1: release %q is not a release id (12 to 64 lowercase hex digits)%s", name, f.Release, fix)
	case !stages[f.Stage]:
		return policy.Approval{}, fmt.Errorf("%s:1:1: stage %q is not a stage of the pipeline%s", name, f.Stage, fix)
	case strings.TrimSpace(f.By) == "":
		return policy.Approval{}, fmt.Errorf("%s:1:1: by is empty: say who approves%s", name, fix)
	}
	return policy.Approval{Release: f.Release, Stage: f.Stage, By: f.By, Reason: f.Reason, File: name}, nil
}

// trailingTextError is text after the one JSON value an approval file
// holds: a second value, or what an edit left behind.
type trailingTextError struct {
	Offset int64 // of the text's first byte
}

func (e *trailingTextError) Error() string {
	return fmt.Sprintf("text after the approval, at offset %d: a file holds one JSON object and nothing after it", e.Offset)
}

// jsonError positions a JSON decoding error as file:line:col.
func jsonError(name string, b []byte, err error) error {
	var off int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var trailing *trailingTextError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset - 1 // the offset is past the offending byte
	case errors.As(err, &typ):
		off = typ.Offset
	case errors.As(err, &trailing):
		off = trailing.Offset
	}
	line, col := 1, 1
	for _, c := range b[:min(int(off), len(b))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%s:%d:%d: %s", name, line, col, strings.TrimPrefix(err.Error(), "json: "))
}

// approvalsFor lists the approvals of one release.
func approvalsFor(all []policy.Approval, release string) []policy.Approval {
	out := []policy.Approval{}
	for _, a := range all {
		if strings.HasPrefix(release, a.Release) {
			out = append(out, a)
		}
	}
	return out
}

// person splits "Name <email>".
func person(s string) policy.Person {
	name, email, ok := strings.Cut(s, "<")
	if !ok {
		return policy.Person{Name: strings.TrimSpace(s)}
	}
	return policy.Person{Name: strings.TrimSpace(name), Email: strings.TrimSuffix(strings.TrimSpace(email), ">")}
}

// trailers reads the "Key: value" lines of a commit message's last
// paragraph, as git interpret-trailers does.
func trailers(msg string) map[string][]string {
	out := map[string][]string{}
	paras := strings.Split(strings.TrimSpace(msg), "\n\n")
	if len(paras) < 2 {
		return out
	}
	for _, line := range strings.Split(paras[len(paras)-1], "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return map[string][]string{}
		}
		out[k] = append(out[k], strings.TrimSpace(v))
	}
	return out
}
