package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: run must stop
// everything it started before it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer safe for the progress goroutine and run to
// write to at once. onWrite, if set, sees each write.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	onWrite func(p []byte)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.onWrite != nil {
		b.onWrite(p)
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runCmd runs the command with args and returns its exit status, stdout and
// stderr.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// runJSON runs the command with -json and args, checks that it succeeded,
// and decodes its summary. It also returns the summary as a generic map,
// for checks on the names of the fields.
func runJSON(t *testing.T, args ...string) (*summary, map[string]any) {
	t.Helper()
	code, stdout, stderr := runCmd(t, append([]string{"-json", "-progress", "0"}, args...)...)
	if code != exitOK {
		t.Fatalf("run %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	return decodeSummary(t, stdout)
}

// decodeSummary decodes a JSON summary, strictly.
func decodeSummary(t *testing.T, stdout string) (*summary, map[string]any) {
	t.Helper()
	var s summary
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("decoding the summary: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on stdout:\n%s", stdout)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatal(err)
	}
	return &s, raw
}
