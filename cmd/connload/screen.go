package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// screen is what a user watches during a run: the status line on stderr,
// the time series on stdout, and notices such as "stopping…" on stderr.
// On a terminal the status line is one line rewritten in place, cut to the
// terminal's width so that it never wraps, and cleared before anything
// else is written to the terminal, so that no fragment of it is left;
// elsewhere (a file, a pipe, a CI log) each status is a line of its own.
// Its methods are safe for concurrent use.
type screen struct {
	out, err io.Writer
	tty      bool       // err is a terminal
	shared   bool       // out is a terminal too: writing to it moves the cursor under the status line
	width    func() int // of the terminal err is, read at each status since it may be resized

	mu    sync.Mutex // guards shown and serializes writes to out and err
	shown int        // width of the status line now on the terminal; 0 if none
}

func newScreen(stdout, stderr io.Writer) *screen {
	s := &screen{out: stdout, err: stderr, tty: isTerminal(stderr)}
	s.shared = s.tty && isTerminal(stdout)
	s.width = func() int { return terminalWidth(stderr) }
	return s
}

// field is one item of the status line. Items come in order of
// importance: when the line is too wide, the last ones are shortened
// first, then dropped, but never one that must be kept.
type field struct {
	long, short string // short "" has no short form
	keep        bool
}

// status shows the status made of fields.
func (s *screen) status(fields []field) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tty {
		fmt.Fprintln(s.err, fit(fields, 0))
		return
	}
	// One column less than the width: on many terminals writing the last
	// column wraps the cursor to the next line.
	w := s.width() - 1
	line := fit(fields, w)
	n := utf8.RuneCountInString(line)
	// Blanks erase the end of a longer line shown before, as far as the
	// terminal, which may have narrowed since, is wide.
	shown := max(n, min(s.shown, w))
	fmt.Fprintf(s.err, "\r%s%s", line, strings.Repeat(" ", shown-n))
	s.shown = shown
}

// clearLocked erases the status line. Caller must hold s.mu.
func (s *screen) clearLocked() {
	if s.shown > 0 {
		fmt.Fprintf(s.err, "\r%s\r", strings.Repeat(" ", s.shown))
		s.shown = 0
	}
}

// clear erases the status line, before the summary.
func (s *screen) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
}

// notice writes msg to stderr on a line of its own.
func (s *screen) notice(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
	fmt.Fprintln(s.err, msg)
}

// record writes b, a line or lines of the time series, to stdout.
func (s *screen) record(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shared {
		s.clearLocked()
	}
	_, err := s.out.Write(b)
	return err
}

// fit joins fields into a line of at most width columns; width 0 means
// any, with every field in full.
func fit(fields []field, width int) string {
	text := make([]string, len(fields))
	for i, f := range fields {
		text[i] = f.long
	}
	line := func() string {
		var parts []string
		for _, t := range text {
			if t != "" {
				parts = append(parts, t)
			}
		}
		return strings.Join(parts, "  ")
	}
	if width <= 0 {
		return line()
	}
	for i := len(fields) - 1; i >= 0 && utf8.RuneCountInString(line()) > width; i-- {
		if fields[i].short != "" {
			text[i] = fields[i].short
		}
	}
	for i := len(fields) - 1; i >= 0 && utf8.RuneCountInString(line()) > width; i-- {
		if !fields[i].keep {
			text[i] = ""
		}
	}
	l := line()
	if r := []rune(l); len(r) > width {
		l = string(r[:width]) // the kept fields alone are too wide: a narrow terminal
	}
	return l
}

// isTerminal reports whether w is a terminal: a character device. So is
// /dev/null, where rewriting a line in place does no harm.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// terminalWidth returns the number of columns of the terminal w is, as
// the system reports it, else as $COLUMNS says, else 80.
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if n := termColumns(f); n > 0 {
			return n
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}
