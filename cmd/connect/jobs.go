package main

// Payment Services: connect jobs run-once.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/connect-oss/connect/internal/app"
	"github.com/connect-oss/connect/internal/jobs"
)

type jobsOptions struct {
	at      string
	workers int
	batch   int
}

func (j *jobsOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&j.at, "at", "", "business time: YYYY-MM-DD (12:00 UTC that day) or RFC 3339; default now")
	fs.IntVar(&j.workers, "workers", 4, "parallel claimers per step (PostgreSQL)")
	fs.IntVar(&j.batch, "batch", 200, "subscriptions per transaction")
}

// parseAt reads --at: a bare date is 12:00 UTC, inside that calendar day in
// every European company zone.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("jobs: --at must be YYYY-MM-DD or an RFC 3339 time")
	}
	return d.Add(12 * time.Hour), nil
}

func runJobs(ctx context.Context, a *app.App, o jobsOptions, stdout io.Writer) error {
	at, err := parseAt(o.at)
	if err != nil {
		return err
	}
	r := &jobs.Runner{DB: a.DB, Billing: a.Billing, Log: a.Logger, Workers: o.workers, Batch: o.batch}
	start := time.Now()
	rep, err := r.RunOnce(ctx, at)
	fmt.Fprintf(stdout, "jobs run-once at %s: %s (%s)\n", at.Format(time.RFC3339), rep, time.Since(start).Round(time.Millisecond))
	return err
}
