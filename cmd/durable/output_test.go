package main

import (
	"bytes"
	"strings"
	"testing"
)

// A table's cells are aligned, and a cell's tab or line break (a commit
// message's, say) cannot break the columns.
func TestWriteTableAligns(t *testing.T) {
	var b bytes.Buffer
	err := writeTable(&b, table{header: []string{"A", "MESSAGE", "C"}, rows: [][]string{
		{"long-value", "two\nlines\twith a tab", "x"},
		{"v", "", "y"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), b.String())
	}
	col := strings.Index(lines[0], "C")
	for _, l := range lines[1:] {
		if len(l) <= col || (l[col] != 'x' && l[col] != 'y') {
			t.Fatalf("columns not aligned at %d:\n%s", col, b.String())
		}
	}
	if !strings.Contains(lines[2], " - ") {
		t.Fatalf("an empty cell must show -:\n%s", b.String())
	}
}
