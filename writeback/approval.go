package writeback

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"unicode"

	"github.com/durable-delivery/durable/internal/approvals"
)

// MaxBy bounds who an approval names, and MaxReason why.
const (
	MaxBy     = 200
	MaxReason = 1000
)

var (
	releaseID = regexp.MustCompile(`^[a-f0-9]{12,64}$`)
	stageName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	notSlug   = regexp.MustCompile(`[^a-z0-9]+`)
)

// Approval returns the approval file that says by approves release for
// stage, as `durable approve` writes it: its path in files (approvals/
// STAGE-RELEASE.json, or with who approves appended when another person's
// approval holds that name) and its content.
func Approval(files fs.FS, stage, release, by, reason string) (string, []byte, error) {
	by, reason = strings.TrimSpace(by), strings.TrimSpace(reason)
	switch {
	case !releaseID.MatchString(release):
		return "", nil, fmt.Errorf("release %q: a release id is 12 to 64 lowercase hex digits", release)
	case !stageName.MatchString(stage):
		return "", nil, fmt.Errorf("stage %q: a stage name is lowercase letters, digits and dashes", stage)
	case by == "" || len(by) > MaxBy || !printable(by):
		return "", nil, fmt.Errorf("who approves: 1 to %d printable characters on one line, e.g. an email address", MaxBy)
	case len(reason) > MaxReason || !printable(reason):
		return "", nil, fmt.Errorf("reason: at most %d printable characters on one line", MaxReason)
	}
	name := path.Join(approvals.Dir, fmt.Sprintf("%s-%s.json", stage, release[:12]))
	data, err := fs.ReadFile(files, name)
	var other approvals.File
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", nil, fmt.Errorf("read %s: %w", name, err)
	case json.Unmarshal(data, &other) != nil || !strings.EqualFold(other.By, by):
		who := strings.Trim(notSlug.ReplaceAllString(strings.ToLower(by), "-"), "-")
		if who == "" {
			who = "approver"
		}
		name = path.Join(approvals.Dir, fmt.Sprintf("%s-%s-%s.json", stage, release[:12], who[:min(len(who), 40)]))
	}
	body, err := json.MarshalIndent(approvals.File{Release: release, Stage: stage, By: by, Reason: reason}, "", "  ")
	if err != nil {
		return "", nil, err
	}
	return name, append(body, '\n'), nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
