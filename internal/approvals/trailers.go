package approvals

import "strings"

// Trailers reads the "Key: value" lines of a commit message's last
// paragraph, as git interpret-trailers does. A last paragraph with a line
// of another form, or a message of one paragraph, has no trailers.
func Trailers(msg string) map[string][]string {
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
