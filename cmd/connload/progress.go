package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// startProgress reports progress to w every cfg.progress until the
// returned function is called; that function waits for the last report.
// On a terminal one line is rewritten in place, and erased at the end so
// that the summary starts on a clean line; elsewhere (a file, a pipe, a
// CI log) each report is a line of its own.
func startProgress(w io.Writer, cfg config, start time.Time, rec *recorder, gauge func() string) (stop func()) {
	if cfg.progress <= 0 {
		return func() {}
	}
	tty := isTerminal(w)
	noun := "requests"
	if cfg.mode == modeWrite {
		noun = "writes"
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(cfg.progress)
		defer t.Stop()
		last, lastAt := new(tally), start
		width := 0 // of the longest line written, to blank out on a terminal
		for {
			var now time.Time
			select {
			case <-quit:
				if tty && width > 0 {
					fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", width))
				}
				return
			case now = <-t.C:
			}
			cur := rec.tally()
			recent := cur.lat.since(&last.lat)
			n, lastN := cur.ok+cur.failed, last.ok+last.failed
			line := fmt.Sprintf("%6.1fs  %s %s  %s/s  p99 %s  %s failed  %s",
				now.Sub(start).Seconds(), commas(n), noun,
				commas(uint64(float64(n-lastN)/now.Sub(lastAt).Seconds())),
				showDuration(recent.quantile(0.99)), commas(cur.failed), gauge())
			if tty {
				fmt.Fprintf(w, "\r%s%s", line, strings.Repeat(" ", max(0, width-utf8.RuneCountInString(line))))
				width = max(width, utf8.RuneCountInString(line))
			} else {
				fmt.Fprintln(w, line)
			}
			last, lastAt = cur, now
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// isTerminal reports whether w is a terminal, without x/term: a terminal
// is a character device. So is /dev/null, where rewriting a line in place
// does no harm.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
