package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackendRejectsWhenQueueFull(t *testing.T) {
	cfg := defaultConfig()
	cfg.Pool, cfg.Queue = 1, 0
	b := newBackend(cfg, time.Now())
	b.conns <- struct{}{} // every connection busy
	if _, err := b.query(t.Context(), 0); !errors.Is(err, errOverloaded) {
		t.Fatalf("query with a full pool and no queue: %v, want errOverloaded", err)
	}
	if b.calls.Load() != 1 || b.reject.Load() != 1 || len(b.intervals()) != 0 {
		t.Errorf("calls %d, rejected %d, admitted %d; want 1, 1, 0", b.calls.Load(), b.reject.Load(), len(b.intervals()))
	}
}

func TestBackendQueuedCallerLeavesOnDeadline(t *testing.T) {
	cfg := defaultConfig()
	cfg.Pool, cfg.Queue = 1, 1
	b := newBackend(cfg, time.Now())
	b.conns <- struct{}{}
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	if _, err := b.query(ctx, 0); err != context.DeadlineExceeded {
		t.Fatalf("queued query past its deadline: %v, want DeadlineExceeded", err)
	}
	if b.waiting.Load() != 0 || b.inside.Load() != 0 || len(b.intervals()) != 1 {
		t.Errorf("waiting %d, inside %d, admitted %d; want 0, 0, 1", b.waiting.Load(), b.inside.Load(), len(b.intervals()))
	}
}

func TestBackendQuery(t *testing.T) {
	cfg := defaultConfig()
	cfg.Latency, cfg.Sigma = time.Millisecond, 0
	b := newBackend(cfg, time.Now())
	v1, err1 := b.query(t.Context(), 0)
	v2, err2 := b.query(t.Context(), 0)
	if err1 != nil || err2 != nil || !v2.Fetched.After(v1.Fetched) {
		t.Fatalf("two queries: %+v %v, %+v %v; want the second value fetched later", v1, err1, v2, err2)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.query(ctx, 0); err != context.Canceled || b.calls.Load() != 2 {
		t.Errorf("query with a done context: %v after %d calls; want Canceled, not counted", err, b.calls.Load())
	}
}

func TestServiceTimeGrowsWithLoad(t *testing.T) {
	cfg := defaultConfig()
	cfg.Latency, cfg.Sigma, cfg.Slowdown, cfg.Pool = 10*time.Millisecond, 0, 3, 4
	b := newBackend(cfg, time.Now())
	if got := b.serviceTime(1); got != 10*time.Millisecond {
		t.Errorf("idle pool: %v, want the base latency", got)
	}
	if got := b.serviceTime(4); got != 32500*time.Microsecond {
		t.Errorf("full pool: %v, want 3.25 times the base", got)
	}
}

func TestServiceTimeStalls(t *testing.T) {
	cfg := defaultConfig()
	cfg.StallProb, cfg.Stall = 1, 3*time.Second
	b := newBackend(cfg, time.Now())
	if got := b.serviceTime(1); got != 3*time.Second || b.stalls.Load() != 1 {
		t.Errorf("-stall-prob 1: %v and %d stalls, want the stall and 1", got, b.stalls.Load())
	}
	cfg.StallProb = 0.25
	b = newBackend(cfg, time.Now())
	for range 4000 {
		b.serviceTime(1)
	}
	if n := b.stalls.Load(); n < 850 || n > 1150 {
		t.Errorf("-stall-prob 0.25: %d stalls in 4000 queries, want about 1000", n)
	}
}
