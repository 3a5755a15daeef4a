package exportertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a running program started by Start, StartCmd or Launch.
type Process struct {
	Addr string // the loopback host:port it listens on ("" if not known)
	URL  string // "http://" + Addr

	cmd    *exec.Cmd
	log    logBuffer
	exited chan struct{} // closed when the process has ended
	err    error         // its Wait error, once exited is closed
	once   sync.Once
}

// maxLog bounds a process's kept output, so a long benchmark's log cannot
// grow without end; no test's output comes near it.
const maxLog = 16 << 20

// logBuffer keeps a process's output, written and read concurrently.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	dropped bool
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len()+len(p) > maxLog {
		l.dropped = true
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped {
		return l.b.String() + "[output beyond this point dropped]\n"
	}
	return l.b.String()
}

// FreeAddrErr is a loopback host:port that was free a moment ago.
func FreeAddrErr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// FreeAddr is FreeAddrErr, failing tb.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := FreeAddrErr()
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}

// Launch starts cmd, its stdout and stderr (unless already set) kept in its
// log, and, unless addr is "", waits up to 30s until addr accepts
// connections. The caller stops it.
func Launch(cmd *exec.Cmd, addr string) (*Process, error) {
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	if addr != "" {
		p.Addr, p.URL = addr, "http://"+addr
	}
	if cmd.Stdout == nil {
		cmd.Stdout = &p.log
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &p.log
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if addr == "" {
		return p, nil
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited before listening on %s: %v\n%s", cmd.Path, addr, p.err, p.Log())
		default:
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s not listening on %s after 30s:\n%s", cmd.Path, addr, p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StartCmd is Launch, failing tb, with the process stopped when the test
// ends.
func StartCmd(tb testing.TB, cmd *exec.Cmd, addr string) *Process {
	tb.Helper()
	p, err := Launch(cmd, addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Stop)
	return p
}

// Command is the exporter bin listening on addr, with env added to the
// environment and args after --web.listen-address.
func Command(bin, addr string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"--web.listen-address=" + addr}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// Start runs the exporter (Build) as Command on a free loopback port and
// waits until it listens. It is stopped when the test ends.
func Start(tb testing.TB, env []string, args ...string) *Process {
	tb.Helper()
	addr := FreeAddr(tb)
	return StartCmd(tb, Command(Build(tb), addr, env, args...), addr)
}

// Exited reports whether the process has ended, and then its Wait error.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.exited:
		return true, p.err
	default:
		return false, nil
	}
}

// Log is everything the process wrote to stdout and stderr so far.
func (p *Process) Log() string { return p.log.String() }

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process (SIGHUP reloads the exporter's config).
func (p *Process) Signal(tb testing.TB, sig os.Signal) {
	tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("signal %v: %v", sig, err)
	}
}

// Stop ends the process, SIGTERM then SIGKILL after 10s, and waits for it
// and its output. Calling it again does nothing.
func (p *Process) Stop() {
	p.once.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// Result is how a run of the exporter that stopped by itself ended.
type Result struct {
	Stdout, Stderr string
	Code           int // the exit code
}

// Run runs the exporter with env added to the environment and args as
// given, until it exits: a command such as check, or a start-up that must
// fail (give it a --web.listen-address of FreeAddr, so a start that
// succeeds cannot take a port in use). It fails tb if the process runs for
// more than 90s or cannot be started.
func Run(tb testing.TB, env []string, args ...string) Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Build(tb), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		tb.Fatalf("%v: still running after 90s:\n%s%s", args, stdout.String(), stderr.String())
	}
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		tb.Fatal(err)
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}
