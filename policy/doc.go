// Package policy is Durable's OPA engine. It compiles the Rego policies of
// each trusted source (the desired-state repository's policy/ folder, and an
// optional second source configured on the host) once per revision, in a
// sandbox without network, files or clock, and answers three entry points:
//
//   - durable.admission, once per revision: may the change enter at all;
//   - durable.gate, before a release enters a stage and before each step of
//     traffic is promoted: allow, deny or hold;
//   - durable.invariant, before every action: is the fleet after it safe.
//
// Every source that defines an entry point must allow; a policy that does not
// compile, errors, times out or leaves a required rule undefined denies
// (fail closed). The engine knows nothing of Git or of the reconciler: it
// takes Rego text and an input document, and returns a Decision to journal.
package policy
