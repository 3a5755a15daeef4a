package server

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestDeadline(t *testing.T) {
	to := Timeouts{Max: 30 * time.Second, Offset: 500 * time.Millisecond}
	for _, tc := range []struct {
		header string
		want   time.Duration
		bad    bool
	}{
		{"", 30 * time.Second, false},
		{"10", 9500 * time.Millisecond, false},
		{"0.25", 125 * time.Millisecond, false}, // shorter than the offset: half of it
		{"120", 30 * time.Second, false},        // the flag caps it
		{"soon", 0, true},
		{"-1", 0, true},
		{"0", 0, true},
		{"NaN", 0, true},
		{"+Inf", 0, true},
		{"1e300", 0, true},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tc.header != "" {
			r.Header.Set(timeoutHeader, tc.header)
		}
		got, err := to.Deadline(r)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("header %q: got %v, %v; want %v, error %v", tc.header, got, err, tc.want, tc.bad)
		}
	}
}
