package isnil

import (
	"crypto/tls"
	"net"
	"testing"
)

func TestValue(t *testing.T) {
	var nilTLS *tls.Conn
	var nilMap map[string]int
	var nilFunc func()
	tcp := &net.TCPConn{}
	for _, tc := range []struct {
		name string
		v    any
		want bool
	}{
		{"nil", nil, true},
		{"nil pointer", nilTLS, true},
		{"nil pointer as an interface", net.Conn(nilTLS), true},
		{"nil map", nilMap, true},
		{"nil func", nilFunc, true},
		{"pointer", tcp, false},
		{"struct", struct{}{}, false},
		{"int zero", 0, false},
		{"empty string", "", false},
	} {
		if got := Value(tc.v); got != tc.want {
			t.Errorf("Value(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
