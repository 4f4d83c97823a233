package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/durable-delivery/durable/api"
)

// Transition is one change of an infra-set's state or of a rollout's phase.
// The journal records it in the same write as the record it changes, so that
// Check can replay every change a record went through.
type Transition struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Kind is "infra-set" or "rollout"; From is "" when the record is new.
	Kind string `json:"kind"`
	ID   string `json:"id"`
	From string `json:"from,omitempty"`
	To   string `json:"to"`
}

// Record kinds a transition is about.
const (
	kindInfraSet = "infra-set"
	kindRollout  = "rollout"
)

// setMoves are the legal changes of an infra-set's state. A set is made
// (creating, or probe for a check) when new or after it was removed: its id
// follows from its release and target, so a release rolled out again after
// its set was collected makes it anew.
var setMoves = map[api.SetState][]api.SetState{
	"":              {api.SetCreating, api.SetProbe},
	api.SetRemoved:  {api.SetCreating, api.SetProbe},
	api.SetCreating: {api.SetReady, api.SetFailed, api.SetRemoving},
	api.SetProbe:    {api.SetFailed, api.SetRemoving},
	api.SetReady:    {api.SetCanary, api.SetServing, api.SetFailed, api.SetRemoving},
	api.SetCanary:   {api.SetServing, api.SetFailed, api.SetRemoving},
	api.SetServing:  {api.SetWarm, api.SetFailed, api.SetRemoving},
	api.SetWarm:     {api.SetServing, api.SetRemoving},
	api.SetFailed:   {api.SetRemoving},
	api.SetRemoving: {api.SetRemoved},
}

// rolloutMoves are the legal changes of a rollout's phase. A rollout starts
// creating its set, or switching at once to a warm one (a rollback); a
// finished rollout of a release starts again when a later revision wants the
// same release on the same placement.
var rolloutMoves = map[api.RolloutPhase][]api.RolloutPhase{
	"":                   {api.RolloutCreating, api.RolloutSwitching},
	api.RolloutCreating:  {api.RolloutCanary, api.RolloutSwitching, api.RolloutSucceeded, api.RolloutFailed, api.RolloutAbandoned},
	api.RolloutCanary:    {api.RolloutSwitching, api.RolloutSucceeded, api.RolloutFailed, api.RolloutAbandoned},
	api.RolloutSwitching: {api.RolloutSucceeded, api.RolloutFailed, api.RolloutAbandoned},
	api.RolloutSucceeded: {api.RolloutCreating, api.RolloutSwitching},
	api.RolloutFailed:    {api.RolloutCreating, api.RolloutSwitching},
	api.RolloutAbandoned: {api.RolloutCreating, api.RolloutSwitching},
}

// legal reports whether a transition is one the state machines allow.
func (t Transition) legal() bool {
	switch t.Kind {
	case kindInfraSet:
		return slices.Contains(setMoves[api.SetState(t.From)], api.SetState(t.To))
	case kindRollout:
		return slices.Contains(rolloutMoves[api.RolloutPhase(t.From)], api.RolloutPhase(t.To))
	}
	return false
}

// stateOf reads the field that moves (state or phase) of a stored record.
func stateOf(kind string, data []byte) (string, error) {
	var r struct {
		State string `json:"state"`
		Phase string `json:"phase"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return "", err
	}
	if kind == kindRollout {
		return r.Phase, nil
	}
	return r.State, nil
}

// changeOf is the transition that storing data over old (nil when the
// record is new) makes, without its Seq and Time; nil when the state or
// phase stays the same.
func changeOf(kind, id string, old, data []byte) (*Transition, error) {
	to, err := stateOf(kind, data)
	if err != nil {
		return nil, err
	}
	from := ""
	if old != nil {
		if from, err = stateOf(kind, old); err != nil {
			return nil, fmt.Errorf("decode the stored %s: %w", kind, err)
		}
	}
	if old != nil && from == to {
		return nil, nil
	}
	return &Transition{Kind: kind, ID: id, From: from, To: to}, nil
}

// noteTransition records, inside a write transaction that stores data under
// id, the change of state it makes, if any.
func noteTransition(tx *bolt.Tx, kind, id string, old, data []byte) error {
	t, err := changeOf(kind, id, old, data)
	if err != nil || t == nil {
		return err
	}
	bucket := tx.Bucket(bucketTransitions)
	if t.Seq, err = bucket.NextSequence(); err != nil {
		return err
	}
	t.Time = time.Now().UTC()
	encoded, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return bucket.Put(seqKey(t.Seq), encoded)
}

// Transitions lists every recorded change of state, oldest first. A journal
// written before transitions were recorded has none.
func (b *Bolt) Transitions(ctx context.Context) ([]Transition, error) {
	var out []Transition
	err := b.view(ctx, func(tx *bolt.Tx) error {
		bucket := tx.Bucket(bucketTransitions)
		if bucket == nil {
			return nil
		}
		return bucket.ForEach(func(_, data []byte) error {
			var t Transition
			if err := json.Unmarshal(data, &t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list transitions: %w", err)
	}
	return out, nil
}
