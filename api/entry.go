package api

import (
	"encoding/json"
	"time"
)

// EntryKind says what a journal entry records.
type EntryKind string

// Entry kinds.
const (
	EntryRevision EntryKind = "revision" // a revision was seen, with its verdict
	EntryDecision EntryKind = "decision" // a policy decision
	EntryIntent   EntryKind = "intent"   // an action is about to be taken
	EntryOutcome  EntryKind = "outcome"  // the action's result
	EntryEvent    EntryKind = "event"    // anything else worth showing (drift, restarts)
)

// Action names what an intent and its outcome are about, or what an event
// records.
type Action string

// Actions on a target: each is preceded by a decision and an intent, and
// followed by an outcome.
const (
	ActionCreateSet Action = "create-set" // start an infra-set's instances
	ActionScaleSet  Action = "scale-set"  // change how many instances a set runs
	ActionSetSplit  Action = "set-split"  // change a service's traffic split
	ActionRemoveSet Action = "remove-set" // stop and delete an infra-set
)

// Events of a stage bake.
const (
	ActionBakeStarted Action = "bake-started"
	ActionBakeDone    Action = "bake-done"
)

// ActionWarning is the event a reconciler journals when it starts without a
// guarantee (see Warning); the entry's Result is the Warning's Reason.
const ActionWarning Action = "warning"

// Events of a dependency the reconciler calls outside a placement's
// converge (a target's runtime or traffic adapter observed, Prometheus):
// journaled once when its tries start failing and once when one succeeds
// again, not on every pass. The entry's Result is the dependency's name, as
// status lists it under failing.
const (
	ActionDependencyDown Action = "dependency-down"
	ActionDependencyUp   Action = "dependency-up"
)

// Built-in rules a reader of the journal tells apart by the decisions that
// cite them: a set-split whose decision's Policy starts with PolicyDrift
// restores a traffic split changed by hand; a gate hold whose Policy
// includes PolicyStageGate waits for a stage's approvals.
const (
	PolicyDrift     = "builtin/drift"
	PolicyStageGate = "builtin/stage-gate"
)

// RevisionDetail is the Detail of a revision entry: which commit it judged.
type RevisionDetail struct {
	Commit string `json:"commit"`
	Author string `json:"author,omitempty"`
	// Subject is the first line of the commit's message, at most 200 bytes.
	Subject string `json:"subject,omitempty"`
}

// ActionJournalCompacted is the event the journal's retention appends after
// it compacted records no longer needed; its Detail holds the counts.
const ActionJournalCompacted Action = "journal-compacted"

// TargetActions lists the actions taken on targets.
var TargetActions = []Action{ActionCreateSet, ActionScaleSet, ActionSetSplit, ActionRemoveSet}

// Entry is one line of the append-only journal.
type Entry struct {
	// Seq is assigned by Append, strictly increasing from 1; a gap is
	// where the journal's retention compacted entries (Store.Compacted).
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    EntryKind `json:"kind"`
	Service string    `json:"service,omitempty"`
	Stage   string    `json:"stage,omitempty"`
	Target  string    `json:"target,omitempty"`
	Release string    `json:"release,omitempty"`
	Set     string    `json:"set,omitempty"`
	Rollout string    `json:"rollout,omitempty"`
	// Action names what an intent or outcome is about: create-set,
	// set-split, remove-set; or what an event records: bake-started,
	// bake-done.
	Action Action `json:"action,omitempty"`
	// Intent is, on an outcome, the Seq of its intent.
	Intent uint64 `json:"intent,omitempty"`
	// Decision is, on an intent, the Seq of the decision that allowed it.
	Decision uint64 `json:"decision,omitempty"`
	// Policy and Result describe a decision entry ("builtin", "allow").
	Policy string `json:"policy,omitempty"`
	Result string `json:"result,omitempty"`
	// Message says what happened and why, for a person.
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
	// EntryPoint, InputDigest, Reasons and Took record a decision asked of
	// the policies: which entry point, the sha256 of its input, why it
	// denied or held, and how long it took.
	EntryPoint  string        `json:"entryPoint,omitempty"`
	InputDigest string        `json:"inputDigest,omitempty"`
	Reasons     []string      `json:"reasons,omitempty"`
	Took        time.Duration `json:"took,omitempty"`
	// Detail holds structured data (a split, a decision's input digest).
	Detail json.RawMessage `json:"detail,omitempty"`
}
