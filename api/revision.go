package api

// RevisionVerdict is what the reconciler made of a revision.
type RevisionVerdict string

// Revision verdicts.
const (
	RevisionAccepted RevisionVerdict = "accepted" // loaded, verified and admitted: the desired state
	RevisionRejected RevisionVerdict = "rejected" // refused, with positioned errors; what runs keeps running
)
