package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
)

// A desired state of 10,000 services is 10 MB of JSON. Encoded or decoded
// whole, it passes through a buffer of its size (16 MB once grown), beside
// the state itself, and the reconciler does it on every revision: the
// encoding for its tree cache and its journal, the decoding from the
// isolated evaluation. The two functions here do it a service at a time,
// with the same result.

// WriteJSON writes ds to w as json.Marshal encodes it, byte for byte, one
// service at a time.
func WriteJSON(w io.Writer, ds *DesiredState) error {
	if ds == nil || ds.Services == nil {
		return writeMarshaled(w, ds)
	}
	if _, err := io.WriteString(w, `{"services":{`); err != nil {
		return err
	}
	for i, name := range slices.Sorted(maps.Keys(ds.Services)) {
		sep := ","
		if i == 0 {
			sep = ""
		}
		key, err := json.Marshal(name) // a map key is escaped as a string is
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, sep+string(key)+":"); err != nil {
			return err
		}
		if err := writeMarshaled(w, ds.Services[name]); err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
	}
	// The other fields as json.Marshal writes them, after services (the
	// struct's first field), whatever fields the state has.
	rest := *ds
	rest.Services = nil
	b, err := json.Marshal(&rest)
	if err != nil {
		return err
	}
	tail, ok := bytes.CutPrefix(b, []byte(`{"services":null`))
	if !ok {
		return fmt.Errorf("encode the desired state: services is not its first field")
	}
	if _, err := io.WriteString(w, "}"); err != nil {
		return err
	}
	_, err = w.Write(tail)
	return err
}

func writeMarshaled(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// decodeResult reads an isolated evaluation's result (isolatedResult, as
// its JSON encoder writes it) as json.Unmarshal would, but a service at a
// time: the decoder holds one service's JSON, not the whole state's.
func decodeResult(r io.Reader) (isolatedResult, error) {
	var res isolatedResult
	dec := json.NewDecoder(r)
	_, err := decodeObjectOrNull(dec, func(key string) error {
		switch key {
		case "state":
			ds := &DesiredState{}
			null, err := decodeState(dec, ds)
			if !null {
				res.State = ds
			}
			return err
		case "errors":
			return dec.Decode(&res.Errors)
		case "fault":
			return dec.Decode(&res.Fault)
		}
		return fmt.Errorf("unknown field %q", key)
	})
	return res, err
}

// decodeState decodes a desired state's object into ds; null is false
// unless it is JSON's null.
func decodeState(dec *json.Decoder, ds *DesiredState) (null bool, err error) {
	return decodeObjectOrNull(dec, func(key string) error {
		switch key {
		case "services":
			services := map[string]Service{}
			null, err := decodeObjectOrNull(dec, func(name string) error {
				var svc Service
				if err := dec.Decode(&svc); err != nil {
					return fmt.Errorf("service %s: %w", name, err)
				}
				services[name] = svc
				return nil
			})
			if !null {
				ds.Services = services
			}
			return err
		}
		// Any other field is decoded as json.Unmarshal would into ds.
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		field, err := json.Marshal(map[string]json.RawMessage{key: raw})
		if err != nil {
			return err
		}
		return json.Unmarshal(field, ds)
	})
}

// decodeObjectOrNull reads a JSON object from dec, calling field with each
// key for it to decode the value that follows; null is true, and field
// never called, when it is JSON's null instead.
func decodeObjectOrNull(dec *json.Decoder, field func(key string) error) (null bool, err error) {
	t, err := dec.Token()
	switch {
	case err != nil:
		return false, err
	case t == nil:
		return true, nil
	case t != json.Delim('{'):
		return false, fmt.Errorf("%v where an object is expected", t)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false, err
		}
		key, ok := t.(string)
		if !ok {
			return false, fmt.Errorf("%v where a key is expected", t)
		}
		if err := field(key); err != nil {
			return false, err
		}
	}
	_, err = dec.Token() // the closing brace: More said there is no other key
	return false, err
}
