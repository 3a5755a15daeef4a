package pgtest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy to the test server that a test can take down, bring
// back, stall or cut, to show how the exporter lives through network faults.
type Proxy struct {
	Addr   string // host:port the exporter connects to
	target string

	mu      sync.Mutex
	ln      net.Listener
	stalled bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup

	sends atomic.Int64 // reads from the clients' side
}

// Sends counts what the clients have sent so far, one per read of their
// side: a client that waits for each answer before it sends again sends
// once per round trip.
func (p *Proxy) Sends() int64 { return p.sends.Load() }

// NewProxy starts a proxy to the test server's address, listening.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	tb.Cleanup(func() { p.Down(); p.wg.Wait() })
	return p
}

// Down stops accepting and cuts every open connection: the database looks
// unreachable.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.cutLocked()
}

// Up listens again on the same address.
func (p *Proxy) Up(tb testing.TB) {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		tb.Fatalf("proxy up: %v", err)
	}
	p.stalled = false
	p.serveLocked(ln)
}

// Cut closes every open connection but keeps accepting new ones.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked()
}

// Stall holds all traffic, in both directions, until Resume.
func (p *Proxy) Stall() { p.mu.Lock(); p.stalled = true; p.mu.Unlock() }

// Resume lets stalled traffic flow again.
func (p *Proxy) Resume() { p.mu.Lock(); p.stalled = false; p.mu.Unlock() }

func (p *Proxy) isStalled() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.stalled }

func (p *Proxy) cutLocked() {
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

func (p *Proxy) serve(ln net.Listener) { p.mu.Lock(); p.serveLocked(ln); p.mu.Unlock() }

func (p *Proxy) serveLocked(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, up, nil)
			go p.pipe(up, c, &p.sends)
		}
	}()
}

// pipe copies src to dst, holding the bytes while the proxy is stalled,
// and counts src's reads in reads when it is not nil.
func (p *Proxy) pipe(dst, src net.Conn, reads *atomic.Int64) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 && reads != nil {
			reads.Add(1)
		}
		for n > 0 && p.isStalled() {
			if !p.alive(src) {
				return
			}
			sleepBriefly()
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) alive(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.conns[c]
	return ok
}
