package fieldedit

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
)

// Diff returns the changes that turn from into to, under prefix: maps are
// compared key by key, lists of the same length element by element, and
// anything else that differs is set whole. A key only from has is removed;
// a key only to has is set. from and to are JSON-shaped, as encoding/json
// decodes into an any. The changes are ordered by path.
func Diff(prefix Path, from, to any) []Change {
	var out []Change
	diff(prefix, from, to, &out)
	return out
}

func diff(at Path, from, to any, out *[]Change) {
	fm, fok := from.(map[string]any)
	tm, tok := to.(map[string]any)
	if fok && tok {
		keys := slices.Sorted(maps.Keys(fm))
		for k := range tm {
			if _, ok := fm[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			fv, inFrom := fm[k]
			tv, inTo := tm[k]
			switch {
			case !inTo:
				*out = append(*out, Change{Path: child(at, k), Delete: true})
			case !inFrom:
				*out = append(*out, Change{Path: child(at, k), Value: tv})
			default:
				diff(child(at, k), fv, tv, out)
			}
		}
		return
	}
	fl, fok := from.([]any)
	tl, tok := to.([]any)
	if fok && tok && len(fl) == len(tl) {
		for i := range fl {
			diff(child(at, strconv.Itoa(i)), fl[i], tl[i], out)
		}
		return
	}
	if !reflect.DeepEqual(from, to) {
		*out = append(*out, Change{Path: slices.Clone(at), Value: to})
	}
}

func child(p Path, label string) Path {
	return append(slices.Clip(p), label)
}
