package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxFileSize bounds the config and DSN files the exporter reads: a config
// pointed at /dev/zero or a huge file must fail, not fill memory.
const MaxFileSize = 1 << 20

// ReadFile reads a regular file of at most MaxFileSize bytes. It refuses
// devices, FIFOs and directories without blocking on them (a FIFO with no
// writer would otherwise hang a reload and hold its lock).
func ReadFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	return b, nil
}

// ErrNotRegular reports a device, FIFO, socket or directory where a file was expected.
var ErrNotRegular = errors.New("not a regular file")
