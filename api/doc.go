// Package api is Durable's wire and read model: what the reconciler's API
// serves and what its clients (durable status, the demo, the end-to-end tests,
// the dashboard) read. It holds the status and its conditions, the stage, bake
// and gate views, the journal's entries, rollouts and verdicts as they are
// shown, the traffic split and set metrics as a traffic adapter reports them,
// and the typed states these carry.
//
// It imports nothing of the project, so that a client of the API never pulls
// in the controller, OPA, CUE or sigstore; every other package may import it.
// Field names are the JSON the API and the journal have always written: a
// journal written by an earlier release still reads.
package api
