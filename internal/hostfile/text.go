package hostfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// ReadText reads a host file of text (the host file, the notifications
// file) through Open: at most max bytes, a regular file, no NUL byte.
// missing is what to do when it does not exist.
func ReadText(name, what, risk, missing string, max int64) ([]byte, error) {
	f, err := Open(name, what, risk)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the %s does not exist; %s", what, missing)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the %s is not a regular file; give the path of the file itself", what)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read: %v", err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("the %s is larger than %d bytes; is it the right file?", what, max)
	}
	if strings.ContainsRune(string(data), 0) {
		return nil, fmt.Errorf("the %s holds a NUL byte: it is not text; is it the right file?", what)
	}
	return data, nil
}

// YAMLSyntaxError positions a YAML parse error of file; the parser reports
// only the line ("yaml: line 3: ..."), so the column is 1.
func YAMLSyntaxError(file string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, _ := fmt.Sscanf(rest, "%d:", &line); n == 1 {
			msg = strings.TrimSpace(rest[strings.Index(rest, ":")+1:])
		}
	}
	return fmt.Sprintf("%s:%d:1: %s; fix the YAML syntax (indentation, quotes, a missing colon)", file, line, msg)
}
