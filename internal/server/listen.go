package server

import (
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"
)

// ListenAndServe serves srv on the flags' addresses like exporter-toolkit's
// web.ListenAndServe, with each TCP listener holding at most maxConns
// connections at once: idle or slow clients then wait in the kernel's
// backlog instead of taking the file descriptors that scrapes and database
// connections need. Systemd and vsock listeners are served unbounded, by
// exporter-toolkit itself.
func ListenAndServe(srv *http.Server, flags *web.FlagConfig, maxConns int, logger *slog.Logger) error {
	if (flags.WebSystemdSocket != nil && *flags.WebSystemdSocket) || maxConns <= 0 {
		return web.ListenAndServe(srv, flags, logger)
	}
	for _, a := range *flags.WebListenAddresses {
		if strings.HasPrefix(a, "vsock://") {
			return web.ListenAndServe(srv, flags, logger)
		}
	}
	listeners := make([]net.Listener, 0, len(*flags.WebListenAddresses))
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, a := range *flags.WebListenAddresses {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return err
		}
		listeners = append(listeners, netutil.LimitListener(l, maxConns))
	}
	return web.ServeMultiple(listeners, srv, flags, logger)
}
