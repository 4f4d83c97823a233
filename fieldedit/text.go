package fieldedit

import (
	"bytes"
	"fmt"
	"slices"
	"unicode/utf8"
)

// lines indexes the starts of a file's lines, to turn line:col positions
// into byte offsets and back.
type lines struct {
	name  string
	src   []byte
	start []int // start[i] is the offset of line i+1
}

func newLines(name string, src []byte) *lines {
	l := &lines{name: name, src: src, start: []int{0}}
	for i, b := range src {
		if b == '\n' {
			l.start = append(l.start, i+1)
		}
	}
	return l
}

// offset is the byte offset of line:col, col counted in characters from 1
// (as YAML counts).
func (l *lines) offset(line, col int) int {
	if line < 1 || line > len(l.start) {
		return len(l.src)
	}
	off := l.start[line-1]
	for ; col > 1 && off < len(l.src) && l.src[off] != '\n'; col-- {
		_, n := utf8.DecodeRune(l.src[off:])
		off += n
	}
	return off
}

// lineOf is the line (from 1) that holds offset off.
func (l *lines) lineOf(off int) int {
	i, found := slices.BinarySearch(l.start, off)
	if found {
		return i + 1
	}
	return i
}

// lineStart and lineEnd are the offsets of the start of off's line and of
// the end of it, past its newline.
func (l *lines) lineStart(off int) int { return l.start[l.lineOf(off)-1] }

func (l *lines) lineEnd(off int) int {
	if i := bytes.IndexByte(l.src[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(l.src)
}

// pos writes off as file:line:col for messages.
func (l *lines) pos(off int) string {
	line := l.lineOf(off)
	return fmt.Sprintf("%s:%d:%d", l.name, line, utf8.RuneCount(l.src[l.start[line-1]:off])+1)
}

// blankBefore reports whether only spaces and tabs precede off on its line.
func (l *lines) blankBefore(off int) bool {
	return len(bytes.TrimLeft(l.src[l.lineStart(off):off], " \t")) == 0
}

// indentOf is the leading spaces and tabs of off's line.
func (l *lines) indentOf(off int) string {
	s := l.src[l.lineStart(off):]
	return string(s[:len(s)-len(bytes.TrimLeft(s, " \t"))])
}

// A splice replaces src[start:end] with text.
type splice struct {
	start, end int
	text       string
}

// applySplices makes the splices, which must not overlap, on a copy of src.
func applySplices(src []byte, ss []splice) ([]byte, error) {
	slices.SortFunc(ss, func(a, b splice) int { return b.start - a.start })
	out := slices.Clone(src)
	for i, s := range ss {
		if i > 0 && s.end > ss[i-1].start {
			return nil, fmt.Errorf("two edits overlap at byte %d", s.start)
		}
		out = slices.Concat(out[:s.start], []byte(s.text), out[s.end:])
	}
	return out, nil
}
