package sops

import (
	"bytes"
	"encoding/json"
	"errors"
)

// loadJSON loads a JSON file as SOPS' JSON store does: a top-level object,
// read token by token so that keys keep their order (and a repeated key
// stays twice); a number is an int when it is one, else a float64. What
// follows the top-level object is not read.
func loadJSON(text []byte) ([]branch, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(text, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		// Not an object: the value is left out of the message, it may be
		// a secret that was never encrypted.
		return nil, &parseError{}
	}
	b, err := jsonObject(dec)
	if err != nil {
		return nil, jsonError(text, err)
	}
	return []branch{b}, nil
}

// jsonObject reads an object's members, its "{" read.
func jsonObject(dec *json.Decoder) (branch, error) {
	var b branch
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return b, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("an object key that is not a string")
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		v, err := jsonValue(dec, tok)
		if err != nil {
			return nil, err
		}
		b = append(b, item{key: key, value: v})
	}
}

// jsonValue is the value that starts with tok.
func jsonValue(dec *json.Decoder, tok json.Token) (any, error) {
	switch tok {
	case json.Delim('{'):
		return jsonObject(dec)
	case json.Delim('['):
		var list []any
		for {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			if tok == json.Delim(']') {
				return list, nil
			}
			v, err := jsonValue(dec, tok)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
	}
	if n, ok := tok.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return int(i), nil
		}
		return n.Float64()
	}
	return tok, nil
}

// jsonError gives the line of a syntax error, never the parser's message.
func jsonError(text []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) && syn.Offset <= int64(len(text)) {
		return &parseError{line: 1 + bytes.Count(text[:syn.Offset], []byte("\n"))}
	}
	return &parseError{}
}
