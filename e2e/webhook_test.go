//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// notifiedAlert is one alert of an Alertmanager webhook notification.
type notifiedAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	// Receiver is the receiver that sent it: the last element of the
	// webhook URL's path.
	Receiver string    `json:"-"`
	EndsAt   time.Time `json:"endsAt"`
}

func (a notifiedAlert) String() string {
	keys := make([]string, 0, len(a.Labels))
	for k, v := range a.Labels {
		keys = append(keys, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(keys)
	return a.Status + " {" + strings.Join(keys, ", ") + "}"
}

// webhook is the Alertmanager receiver: it records every alert notified.
type webhook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []notifiedAlert
	errs   []string
	notify chan struct{} // signalled on each notification
}

func newWebhook(t *testing.T) *webhook {
	t.Helper()
	w := &webhook{notify: make(chan struct{}, 1)}
	// httptest listens on 127.0.0.1.
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	return w
}

// URL is the webhook's base URL; receivers post to URL()/RECEIVER.
func (w *webhook) URL() string { return w.srv.URL + "/alerts" }

func (w *webhook) serve(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var msg struct {
		Version string          `json:"version"`
		Status  string          `json:"status"`
		Alerts  []notifiedAlert `json:"alerts"`
	}
	if err == nil {
		err = json.Unmarshal(body, &msg)
	}
	receiver := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	for i := range msg.Alerts {
		msg.Alerts[i].Receiver = receiver
	}
	w.mu.Lock()
	if err != nil || r.Method != http.MethodPost || msg.Version != "4" {
		w.errs = append(w.errs, fmt.Sprintf("%s %s: version %q, %v: %.300s", r.Method, r.URL, msg.Version, err, body))
	}
	w.alerts = append(w.alerts, msg.Alerts...)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
	rw.WriteHeader(http.StatusOK)
}

// received lists the alerts notified so far.
func (w *webhook) received() []notifiedAlert {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]notifiedAlert(nil), w.alerts...)
}

// badRequests lists the requests that were not valid webhook notifications.
func (w *webhook) badRequests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.errs...)
}

// waitFor waits up to timeout for a notified alert that match accepts.
func (w *webhook) waitFor(t *testing.T, timeout time.Duration, what string, match func(notifiedAlert) bool) notifiedAlert {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, a := range w.received() {
			if match(a) {
				return a
			}
		}
		select {
		case <-w.notify:
		case <-time.After(500 * time.Millisecond):
		case <-deadline.C:
			var got []string
			for _, a := range w.received() {
				got = append(got, "  "+a.String())
			}
			t.Fatalf("no %s notified within %s; the webhook received:\n%s", what, timeout, strings.Join(got, "\n"))
		}
	}
}
