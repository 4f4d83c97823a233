package fieldedit

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// A site is a place in one file that writes the field a change names
// (depth == len(path)) or one of its parents (depth labels of the path).
// Each way of editing it is a splice, or the reason it cannot be edited so.
type site struct {
	file  string
	depth int
	pos   string
	// set writes a value in place of the one there.
	set    func(value any) splice
	setWhy string
	// remove takes the field out.
	remove    splice
	removeWhy string
	// add writes a field below this parent: rest is the path below it.
	// appends says it writes the whole path at the end of the file
	// instead, where the parent cannot take a field inside it.
	add     func(rest Path, value any) splice
	addWhy  string
	appends bool
}

// Editable reports whether Apply reads and edits the file at name: a CUE,
// YAML or JSON file at the root of the tree, where the loader reads the
// desired state.
func Editable(name string) bool {
	if strings.Contains(name, "/") {
		return false
	}
	switch path.Ext(name) {
	case ".cue", ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Apply makes changes, in order, to the editable files and returns the
// files it changed, with their new contents; files itself is not changed.
func Apply(files Files, changes []Change) (Files, error) {
	cur := maps.Clone(files)
	out := Files{}
	for _, c := range changes {
		edits, err := applyOne(cur, c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
		for name, data := range edits {
			cur[name], out[name] = data, data
		}
	}
	return out, nil
}

func applyOne(files Files, c Change) (Files, error) {
	if len(c.Path) == 0 {
		return nil, errors.New("an empty path names no field")
	}
	if err := writable(c.Path, c.Value); err != nil {
		return nil, err
	}
	var fields, parents []site
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !Editable(name) {
			continue
		}
		found, err := sitesOf(name, files[name], c.Path)
		if err != nil {
			return nil, err
		}
		for _, s := range found {
			if s.depth == len(c.Path) {
				fields = append(fields, s)
			} else {
				parents = append(parents, s)
			}
		}
	}
	splices, err := choose(c, fields, parents)
	if err != nil {
		return nil, err
	}
	out := Files{}
	for name, ss := range splices {
		data, err := applySplices(files[name], ss)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := landed(name, data, c); err != nil {
			return nil, fmt.Errorf("%s: %w: edit it by hand", name, err)
		}
		out[name] = data
	}
	return out, nil
}

// choose picks the edits for c: every place that writes the field when it
// is set or removed, or, for a field no file writes yet, one place under
// its deepest written parent.
func choose(c Change, fields, parents []site) (map[string][]splice, error) {
	out := map[string][]splice{}
	switch {
	case c.Delete && len(fields) == 0:
		return nil, fmt.Errorf("no file writes %s (it may come from a default or a pattern): remove it by hand", c.Path)
	case c.Delete:
		for _, s := range fields {
			if s.removeWhy != "" {
				return nil, fmt.Errorf("%s: %s", s.pos, s.removeWhy)
			}
			out[s.file] = append(out[s.file], s.remove)
		}
	case len(fields) > 0:
		var refused []string
		for _, s := range fields {
			if s.setWhy != "" {
				refused = append(refused, s.pos+": "+s.setWhy)
				continue
			}
			out[s.file] = append(out[s.file], s.set(c.Value))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: edit it by hand", strings.Join(refused, "; "))
		}
	default:
		best, err := bestParent(c.Path, parents)
		if err != nil {
			return nil, err
		}
		out[best.file] = []splice{best.add(c.Path[best.depth:], c.Value)}
	}
	return out, nil
}

// bestParent picks where a field no file writes yet is added: inside the
// deepest parent that can take it, else at the end of the file that writes
// the deepest parent. The service itself (or whatever the path's first two
// labels name) must be written somewhere.
func bestParent(p Path, parents []site) (site, error) {
	slices.SortStableFunc(parents, func(a, b site) int { return b.depth - a.depth })
	minDepth := min(2, len(p)-1)
	var appended *site
	for i, s := range parents {
		switch {
		case s.depth < minDepth:
		case s.addWhy == "" && !s.appends:
			return s, nil
		case s.addWhy == "" && appended == nil:
			appended = &parents[i]
		}
	}
	if appended != nil {
		return *appended, nil
	}
	for _, s := range parents {
		if s.depth >= minDepth {
			return site{}, fmt.Errorf("%s: %s", s.pos, s.addWhy)
		}
	}
	return site{}, fmt.Errorf("no file writes %s: add it by hand", p[:minDepth])
}

// landed checks an edited file: it still parses, and the field is now
// written there as c sets it (setting it again would change nothing) or,
// removed, is no longer written there.
func landed(name string, data []byte, c Change) error {
	found, err := sitesOf(name, data, c.Path)
	if err != nil {
		return fmt.Errorf("the edit would leave the file unreadable (%v)", err)
	}
	for _, s := range found {
		if s.depth != len(c.Path) {
			continue
		}
		if c.Delete {
			return fmt.Errorf("the field is still written at %s after its removal", s.pos)
		}
		if s.setWhy == "" {
			if sp := s.set(c.Value); string(data[sp.start:sp.end]) == sp.text {
				return nil
			}
		}
	}
	if c.Delete {
		return nil
	}
	return errors.New("the edit would not write the field where it is read")
}

// sitesOf finds where the file at name writes path or its parents.
func sitesOf(name string, src []byte, p Path) ([]site, error) {
	if path.Ext(name) == ".cue" {
		return cueSites(name, src, p)
	}
	return yamlSites(name, src, p, path.Ext(name) == ".json")
}
