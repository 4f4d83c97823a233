package approvals

import "testing"

func TestTrailers(t *testing.T) {
	got := Trailers("Deploy v2\n\nBecause.\n\nTicket: OPS-1\nReviewed-by: Bob <bob@example.com>\nTicket: OPS-2")
	if len(got["Ticket"]) != 2 || got["Ticket"][1] != "OPS-2" || got["Reviewed-by"][0] != "Bob <bob@example.com>" {
		t.Fatalf("trailers %v", got)
	}
	if got := Trailers("One line: not a trailer"); len(got) != 0 {
		t.Fatalf("subject only: %v", got)
	}
	if got := Trailers("Subject\n\nA paragraph of prose: not trailers at all."); len(got) != 0 {
		t.Fatalf("prose: %v", got)
	}
}
