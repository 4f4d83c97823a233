package fieldedit

import "encoding/json"

// Shape is v as encoding/json decodes it into an any — the form Diff
// compares — with the keys of maps whose value is null dropped at every
// depth: what a Go nil encodes is a field the declaration does not give,
// which Diff then removes rather than writing null.
func Shape(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return dropNulls(out), nil
}

func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(e)
		}
	case []any:
		for i, e := range v {
			v[i] = dropNulls(e)
		}
	}
	return v
}
