package onhost

import (
	"fmt"
	"path"
	"strings"
)

// maxFileName bounds a secret file's name.
const maxFileName = 1024

// FileNameProblem says what is wrong with the name of a secret file
// (secretEnv.X.file), or "" when it is a name inside the secrets directory:
// relative, with no ".." component. An absolute path — what versions
// before the secrets directory took — gets the new form in the message.
func FileNameProblem(name string) string {
	switch {
	case name == "":
		return `file is empty; write the name of a file in the operator's --secrets-dir, e.g. file: "db-password"`
	case len(name) > maxFileName:
		return fmt.Sprintf("file is over %d bytes; write the name of a file in the operator's --secrets-dir", maxFileName)
	case strings.ContainsRune(name, 0):
		return "file holds a NUL byte; write the name of a file in the operator's --secrets-dir"
	case strings.HasPrefix(name, "/"):
		clean := path.Clean(name)
		base, dir := path.Base(clean), path.Dir(clean)
		if base == "/" {
			base = "db-password"
		}
		return fmt.Sprintf("file: %q is an absolute path: since this version secret files are named relative to the operator's --secrets-dir; write file: %q and start durable run with --secrets-dir %s",
			name, base, dir)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return fmt.Sprintf("file: %q leaves the secrets directory (..); write the name of a file in the operator's --secrets-dir", name)
		}
	}
	return ""
}
