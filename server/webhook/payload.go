package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
)

// MaxBody is the largest delivery read, in bytes. A push's payload lists
// its commits and their files: GitHub's is most often tens of kilobytes.
const MaxBody = 1 << 20

// MaxRef bounds the ref of a push: Git's own refs are far shorter.
const MaxRef = 1024

// ErrMalformed is the error of a body that is not a push's payload (422).
var ErrMalformed = errors.New("malformed payload")

// PayloadError says where a body stops being a push's payload, and why.
type PayloadError struct {
	// Offset is the byte of the JSON payload at which the problem is.
	Offset int64
	Reason string
}

func (e *PayloadError) Error() string {
	return fmt.Sprintf("%s at byte %d of the JSON payload: %s", ErrMalformed, e.Offset, e.Reason)
}

// Is makes a *PayloadError match ErrMalformed.
func (e *PayloadError) Is(target error) bool { return target == ErrMalformed }

// PushEvent is what the reconciler reads of a push.
type PushEvent struct {
	// Ref is the ref pushed, refs/heads/BRANCH for a branch.
	Ref string
	// After is the commit the ref points to after the push; all zeros when
	// the push deleted it, "" when the sender did not say (generic).
	After string
}

// Deleted reports whether the push deleted its ref.
func (p PushEvent) Deleted() bool {
	return p.After != "" && strings.Trim(p.After, "0") == ""
}

// Payload returns the JSON payload of a body: the body itself, or, for a
// form (GitHub's and Gitea's "application/x-www-form-urlencoded" content
// type), its payload field. The signature covers the body, so the caller
// verifies it first.
func Payload(contentType string, body []byte) ([]byte, error) {
	media, _, err := mime.ParseMediaType(contentType)
	if err != nil || media != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: the form body does not decode (%v); send the payload as JSON (content type application/json)", ErrMalformed, err)
	}
	p, ok := form["payload"]
	if !ok || len(p) != 1 {
		return nil, fmt.Errorf("%w: the form body has no single payload field; send the payload as JSON (content type application/json)", ErrMalformed)
	}
	return []byte(p[0]), nil
}

// ParsePush reads the ref and the commit of a push's JSON payload (at most
// MaxBody bytes): one object, whose "ref" is a string naming a ref and
// whose "after", if present, is a commit id; its other fields are skipped
// unread, a field given twice and anything after the object are refused.
// The error is a *PayloadError.
func ParsePush(payload []byte) (PushEvent, error) {
	if len(payload) > MaxBody {
		return PushEvent{}, &PayloadError{Offset: MaxBody, Reason: fmt.Sprintf("the payload is over %d bytes", MaxBody)}
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := expectDelim(dec, '{', "the payload is not a JSON object"); err != nil {
		return PushEvent{}, err
	}
	var p PushEvent
	seen := map[string]bool{}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return PushEvent{}, err
		}
		at := valueStart(payload, dec.InputOffset())
		if (key == "ref" || key == "after") && seen[key] {
			return PushEvent{}, &PayloadError{Offset: at, Reason: fmt.Sprintf("%q is given twice", key)}
		}
		seen[key] = true
		switch key {
		case "ref":
			p.Ref, err = stringField(dec, key, at)
		case "after":
			p.After, err = stringField(dec, key, at)
		default:
			err = skipValue(dec, at)
		}
		if err != nil {
			return PushEvent{}, err
		}
	}
	if err := expectDelim(dec, '}', "the object is not closed"); err != nil {
		return PushEvent{}, err
	}
	end := valueStart(payload, dec.InputOffset())
	if _, err := dec.Token(); err != io.EOF {
		return PushEvent{}, &PayloadError{Offset: end, Reason: "something follows the payload's object; send one JSON object"}
	}
	return p, checkPush(p, len(payload))
}

// checkPush refuses a push without a ref, with a ref too long or not under
// refs/, or with an "after" that is not a commit id.
func checkPush(p PushEvent, end int) error {
	switch {
	case p.Ref == "":
		return &PayloadError{Offset: int64(end), Reason: `no "ref": a push's payload names the ref pushed, e.g. "ref": "refs/heads/main"`}
	case len(p.Ref) > MaxRef || !strings.HasPrefix(p.Ref, "refs/") || strings.ContainsFunc(p.Ref, isControl):
		return &PayloadError{Offset: int64(end), Reason: fmt.Sprintf(`"ref" %.80q is not a ref: write refs/heads/BRANCH (at most %d bytes)`, p.Ref, MaxRef)}
	case p.After != "" && !isCommitID(p.After):
		return &PayloadError{Offset: int64(end), Reason: fmt.Sprintf(`"after" %.80q is not a commit id (40 or 64 hex digits)`, p.After)}
	}
	return nil
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

func isCommitID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func expectDelim(dec *json.Decoder, want json.Delim, reason string) error {
	at := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return jsonError(err, at)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return &PayloadError{Offset: at, Reason: reason}
	}
	return nil
}

func objectKey(dec *json.Decoder) (string, error) {
	at := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return "", jsonError(err, at)
	}
	key, ok := tok.(string)
	if !ok {
		return "", &PayloadError{Offset: at, Reason: "an object's key is not a string"}
	}
	return key, nil
}

// valueStart is the offset of what follows offset at in payload, past
// white space and the colon after a key.
func valueStart(payload []byte, at int64) int64 {
	for at < int64(len(payload)) && strings.IndexByte(" \t\r\n:", payload[at]) >= 0 {
		at++
	}
	return at
}

func stringField(dec *json.Decoder, key string, at int64) (string, error) {
	var s string
	if err := dec.Decode(&s); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return "", &PayloadError{Offset: at, Reason: fmt.Sprintf("%q is a JSON %s, not a string", key, typeErr.Value)}
		}
		return "", jsonError(err, at)
	}
	return s, nil
}

// skipValue reads past one value, starting at offset at, without keeping
// it.
func skipValue(dec *json.Decoder, at int64) error {
	var skip json.RawMessage
	if err := dec.Decode(&skip); err != nil {
		return jsonError(err, at)
	}
	return nil
}

// jsonError is err, from a token or value starting at offset at, as a
// *PayloadError at the byte the decoder names.
func jsonError(err error, at int64) error {
	var syntax *json.SyntaxError
	var wrongType *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return &PayloadError{Offset: syntax.Offset, Reason: syntax.Error()}
	case errors.As(err, &wrongType):
		return &PayloadError{Offset: wrongType.Offset, Reason: wrongType.Error()}
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return &PayloadError{Offset: at, Reason: "the payload ends too early"}
	}
	return &PayloadError{Offset: at, Reason: err.Error()}
}
