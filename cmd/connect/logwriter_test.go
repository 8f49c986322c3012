package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogWriterFlushes(t *testing.T) {
	var out lockedBuffer
	lw := newLogWriter(&out, time.Hour) // only Close and a full buffer flush here
	lw.Write([]byte("first line\n"))
	if out.String() != "" {
		t.Fatal("written through before a flush")
	}
	big := strings.Repeat("x", 70<<10) + "\n"
	lw.Write([]byte(big))
	if !strings.HasPrefix(out.String(), "first line\n") {
		t.Fatal("a full buffer was not flushed")
	}
	lw.Write([]byte("last line\n"))
	lw.Close()
	if !strings.HasSuffix(out.String(), "last line\n") || len(out.String()) != len("first line\n")+len(big)+len("last line\n") {
		t.Fatalf("lost lines at close: %d bytes", len(out.String()))
	}
}
