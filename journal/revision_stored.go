package journal

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
)

// maxStateBytes bounds a revision's desired state once decompressed: a
// damaged or hostile file cannot make a read allocate without bound.
const maxStateBytes = 1 << 30

// storedRevision is a revision as the file holds it: its desired state
// compressed (flate) in DesiredStateFlate, DesiredState empty. A fleet's
// state is the same services over and over: at 10,000 services 10 MB of
// JSON kept for every revision, 16 MB in the encoder's buffer to write it,
// and a ceiling (maxRecordBytes) at 16,000 services; compressed, it is
// about a twentieth. Revisions written before it hold DesiredState as JSON
// and read as they are.
type storedRevision struct {
	Revision
	DesiredStateFlate []byte `json:"desiredStateFlate,omitempty"`
}

// packRevision is r as the file keeps it.
func packRevision(r Revision) (storedRevision, error) {
	s := storedRevision{Revision: r}
	if len(r.DesiredState) == 0 {
		return s, nil
	}
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return s, err
	}
	if _, err := zw.Write(r.DesiredState); err != nil {
		return s, fmt.Errorf("compress the desired state: %w", err)
	}
	if err := zw.Close(); err != nil {
		return s, fmt.Errorf("compress the desired state: %w", err)
	}
	s.DesiredStateFlate, s.DesiredState = buf.Bytes(), nil
	return s, nil
}

// unpack is the revision s keeps, its desired state decompressed.
func (s storedRevision) unpack() (Revision, error) {
	r := s.Revision
	if len(s.DesiredStateFlate) == 0 {
		return r, nil
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(s.DesiredStateFlate)), maxStateBytes+1))
	switch {
	case err != nil:
		return r, fmt.Errorf("revision %s: decompress its desired state: %w", r.Commit, err)
	case len(raw) > maxStateBytes:
		return r, fmt.Errorf("revision %s: its desired state is over %d bytes decompressed: the journal is damaged", r.Commit, maxStateBytes)
	}
	r.DesiredState = raw
	return r, nil
}
