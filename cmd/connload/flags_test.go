package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	var stderr strings.Builder
	cfg, err := parseFlags(nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		mode:        modeEcho,
		clients:     64,
		conns:       8,
		duration:    3 * time.Second,
		size:        64,
		timeout:     time.Second,
		errorPause:  10 * time.Millisecond,
		probeAfter:  probeDefault,
		dialTimeout: 5 * time.Second,
		chaosEvery:  100 * time.Millisecond,
		chaosOutage: 50 * time.Millisecond,
		progress:    500 * time.Millisecond,
	}
	if cfg != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
}

func TestParseFlagsGood(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		check func(config) bool
	}{
		{[]string{"-addr", "db:5432", "-clients", "1", "-conns", "1"}, func(c config) bool {
			return c.addr == "db:5432" && c.clients == 1 && c.conns == 1
		}},
		{[]string{"-mode", "write", "-conns", "4", "-size", "1"}, func(c config) bool {
			return c.mode == modeWrite && c.conns == 4 && c.size == 1
		}},
		{[]string{"-max-idle", "2", "-min-idle", "2", "-idle-timeout", "1s", "-max-lifetime", "1m"}, func(c config) bool {
			return c.maxIdle == 2 && c.minIdle == 2 && c.idleTimeout == time.Second && c.maxLifetime == time.Minute
		}},
		{[]string{"-min-idle", "8"}, func(c config) bool { return c.minIdle == 8 }}, // -max-idle 0 is -conns
		{[]string{"-probe-after", "off"}, func(c config) bool { return c.probeAfter == probeOff }},
		{[]string{"-probe-after", "0"}, func(c config) bool { return c.probeAfter == 0 }},
		{[]string{"-probe-after", "2s"}, func(c config) bool { return c.probeAfter == 2*time.Second }},
		{[]string{"-chaos", "-chaos-every", "10ms", "-chaos-outage", "0s"}, func(c config) bool {
			return c.chaos && c.chaosEvery == 10*time.Millisecond && c.chaosOutage == 0
		}},
		{[]string{"-probe-after", "default"}, func(c config) bool { return c.probeAfter == probeDefault }},
		{[]string{"-json", "-progress", "0", "-error-pause", "0"}, func(c config) bool {
			return c.json && c.progress == 0 && c.errorPause == 0
		}},
		{[]string{"-rate", "1000/s"}, func(c config) bool { return c.rate == 1000 }},
		{[]string{"-rate", "2.5"}, func(c config) bool { return c.rate == 2.5 }},
		{[]string{"-rate", "0.001/s"}, func(c config) bool { return c.rate == 0.001 }},
		{[]string{"-rate", "off"}, func(c config) bool { return c.rate == 0 }},
		{[]string{"-n", "10", "-warmup", "1s"}, func(c config) bool { return c.n == 10 && c.warmup == time.Second }},
		{[]string{"-interval", "1s", "-hdr", "lat.hdr"}, func(c config) bool { return c.interval == time.Second && c.hdr == "lat.hdr" }},
		{[]string{"-compare", "conns=16"}, func(c config) bool {
			a, b := c.compare.sides[0], c.compare.sides[1]
			return a.label == "conns=8" && a.cfg.conns == 8 && b.label == "conns=16" && b.cfg.conns == 16 && b.cfg.clients == 64
		}},
		{[]string{"-clients", "4", "-compare", "probe-after=0 conns=2 vs -probe-after=off"}, func(c config) bool {
			a, b := c.compare.sides[0], c.compare.sides[1]
			return a.label == "probe-after=0s conns=2" && a.cfg.probeAfter == 0 && a.cfg.conns == 2 && a.cfg.clients == 4 &&
				b.label == "probe-after=off" && b.cfg.probeAfter == probeOff && b.cfg.conns == 8
		}},
		{[]string{"-compare", "rate=1000/s"}, func(c config) bool {
			a, b := c.compare.sides[0], c.compare.sides[1]
			return a.label == "rate=off" && a.cfg.rate == 0 && b.cfg.rate == 1000 && b.cfg.compare == nil
		}},
	} {
		var stderr strings.Builder
		cfg, err := parseFlags(tc.args, &stderr)
		if err != nil {
			t.Errorf("%q: %v\n%s", tc.args, err, stderr.String())
			continue
		}
		if !tc.check(cfg) {
			t.Errorf("%q: got %+v", tc.args, cfg)
		}
	}
}

// TestBadFlags checks that each mistake is reported by name, with exit
// status 2, before anything runs.
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"-clients", "0"}, "-clients is 0"},
		{[]string{"-clients", "-3"}, "-clients is -3"},
		{[]string{"-conns", "0"}, "-conns is 0"},
		{[]string{"-size", "0"}, "-size is 0"},
		{[]string{"-size", "2000000"}, "-size is 2000000"},
		{[]string{"-duration", "0s"}, "-duration is 0s"},
		{[]string{"-duration", "-1s"}, "-duration is -1s"},
		{[]string{"-timeout", "0s"}, "-timeout is 0s"},
		{[]string{"-dial-timeout", "-1s"}, "-dial-timeout is -1s"},
		{[]string{"-error-pause", "-1ms"}, "-error-pause is -1ms"},
		{[]string{"-progress", "-1s"}, "-progress is -1s"},
		{[]string{"-idle-timeout", "-1s"}, "-idle-timeout is -1s"},
		{[]string{"-max-lifetime", "-1s"}, "-max-lifetime is -1s"},
		{[]string{"-max-idle", "9"}, "-max-idle is 9, want 0 to -conns (8)"},
		{[]string{"-max-idle", "-1"}, "-max-idle is -1"},
		{[]string{"-max-idle", "2", "-min-idle", "3"}, "-min-idle is 3, want 0 to -max-idle (2)"},
		{[]string{"-probe-after", "-1s"}, "use off"},
		{[]string{"-probe-after", "soon"}, "or off"},
		{[]string{"-mode", "stream"}, `-mode is "stream", want echo or write`},
		{[]string{"-mode", "write", "-max-idle", "2"}, "-max-idle sets the ConnPool of echo mode"},
		{[]string{"-mode", "write", "-probe-after", "1s"}, "-probe-after sets the ConnPool"},
		{[]string{"-chaos", "-addr", "127.0.0.1:1"}, "-chaos needs the embedded server"},
		{[]string{"-chaos", "-chaos-every", "0s"}, "-chaos-every is 0s"},
		{[]string{"-chaos", "-chaos-outage", "-1s"}, "-chaos-outage is -1s"},
		{[]string{"-chaos-every", "1s"}, "-chaos-every needs -chaos"},
		{[]string{"-chaos-outage", "1s"}, "-chaos-outage needs -chaos"},
		{[]string{"-n", "0"}, "-n is 0"},
		{[]string{"-n", "10", "-duration", "1s"}, "-n and -duration both"},
		{[]string{"-rate", "-5"}, "use off for a closed loop"},
		{[]string{"-rate", "fast"}, "such as 1000/s"},
		{[]string{"-rate", "20000000/s"}, "-rate is 2e+07/s, want 0.001/s to 10000000/s, or off"},
		{[]string{"-rate", "1e-11"}, "-rate is 1e-11/s, want 0.001/s to 10000000/s, or off"},
		{[]string{"-rate", "100", "-error-pause", "1ms"}, "-error-pause paces a closed loop"},
		{[]string{"-warmup", "-1s"}, "-warmup is -1s"},
		{[]string{"-interval", "-1s"}, "-interval is -1s"},
		{[]string{"-interval", "1ms"}, "-interval is 1ms, want 0 (none) or 10ms or more"},
		{[]string{"-hdr", ""}, "-hdr is empty"},
		{[]string{"-conns", "70000"}, "-conns is 70000, want 1 to 65536"},
		{[]string{"-compare", ""}, "-compare: want settings"},
		{[]string{"-compare", "conns"}, `-compare: "conns": want name=value`},
		{[]string{"-compare", "conns=8"}, "-compare: both runs would be conns=8"},
		{[]string{"-compare", "addr=x:1"}, "-compare: -addr cannot differ between the runs"},
		{[]string{"-compare", "bogus=1"}, `-compare: "bogus": no such flag`},
		{[]string{"-compare", "conns=x"}, "-compare: conns=x:"},
		{[]string{"-compare", "conns=0"}, "-compare: -conns is 0"},
		{[]string{"-compare", "vs conns=2"}, `nothing before "vs"`},
		{[]string{"-compare", "conns=1 vs conns=2 vs conns=3"}, `more than one "vs"`},
		{[]string{"-mode", "write", "-compare", "max-idle=2"}, "-max-idle sets the ConnPool of echo mode"},
		{[]string{"-clients", "many"}, `invalid value "many" for flag -clients`},
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-json", "extra"}, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := runCmd(t, tc.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: stderr does not mention %q:\n%s", tc.args, tc.want, stderr)
		}
		if stdout != "" {
			t.Errorf("%q: stdout %q, want nothing", tc.args, stdout)
		}
	}
}

func TestHelp(t *testing.T) {
	code, stdout, stderr := runCmd(t, "-h")
	if code != exitOK {
		t.Errorf("exit %d, want 0", code)
	}
	for _, want := range []string{"Usage: connload", "-chaos-every", "-probe-after", "(default 64)", "-rate N/s", "-compare", "probe-after=0 vs", "-hdr file", "-interval duration"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("help does not mention %q:\n%s", want, stderr)
		}
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
}
