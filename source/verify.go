package source

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/durable-delivery/durable/signing"
)

// VerifyCommits checks the signatures of commit to, and in strict mode of
// every commit since from ("" for none), against trust, in the cache. The
// newest verdict comes last. Strict mode needs the history: configure the
// source with FullHistory.
func (s *Source) VerifyCommits(from, to string, trust signing.CommitTrust) ([]signing.CommitVerdict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, err := s.cache()
	if err != nil {
		return nil, err
	}
	if !plumbing.IsHash(to) || (from != "" && !plumbing.IsHash(from)) {
		return nil, fmt.Errorf("verify commits %q..%q: not commit ids", from, to)
	}
	var fromHash plumbing.Hash
	if from != "" {
		fromHash = plumbing.NewHash(from)
	}
	return signing.VerifyRevision(repo, fromHash, plumbing.NewHash(to), trust)
}
