package fieldedit

import (
	"maps"
	"slices"
)

// Where returns the places (file:line:col) where the editable files write
// the field at p itself, in file order; none when it comes from a default,
// a pattern or a parent written whole. A file that does not parse is
// skipped: the loader reports it.
func Where(files Files, p Path) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !Editable(name) {
			continue
		}
		found, err := sitesOf(name, files[name], p)
		if err != nil {
			continue
		}
		for _, s := range found {
			if s.depth == len(p) {
				out = append(out, s.pos)
			}
		}
	}
	return out
}
