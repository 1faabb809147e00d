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
	code = run(context.Background(), context.Background(), args, &out, &errOut)
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
	decodeStrict(t, stdout, &s)
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatal(err)
	}
	return &s, raw
}

// decodeStrict decodes stdout, which must be one JSON value, into v,
// which must have a field for every name in it.
func decodeStrict(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %T: %v\n%s", v, err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on stdout:\n%s", stdout)
	}
}

// decodeLines decodes stdout as one JSON object a line, strictly: the
// records of the time series, then the summary.
func decodeLines(t *testing.T, stdout string) ([]intervalRecord, *summary) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	var recs []intervalRecord
	for i, line := range lines {
		var head struct{ Type string }
		if err := json.Unmarshal([]byte(line), &head); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		switch {
		case head.Type == "interval" && i < len(lines)-1:
			var r intervalRecord
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("line %d: %v\n%s", i+1, err, line)
			}
			recs = append(recs, r)
		case head.Type == "summary" && i == len(lines)-1:
			var s summary
			if err := dec.Decode(&s); err != nil {
				t.Fatalf("line %d: %v\n%s", i+1, err, line)
			}
			return recs, &s
		default:
			t.Fatalf("line %d of %d is of type %q:\n%s", i+1, len(lines), head.Type, stdout)
		}
	}
	t.Fatalf("no summary:\n%s", stdout)
	return nil, nil
}
