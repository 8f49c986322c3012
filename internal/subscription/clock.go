package subscription

import (
	"context"
	"time"
)

type clockKey struct{}
type actorKey struct{}

// WithClock returns ctx whose business time comes from now (tests and jobs
// move it); without one, time.Now is used.
func WithClock(ctx context.Context, now func() time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, now)
}

// Now is the business time of ctx.
func Now(ctx context.Context) time.Time {
	if f, ok := ctx.Value(clockKey{}).(func() time.Time); ok && f != nil {
		return f()
	}
	return time.Now()
}

// WithActor names who acts in the audit log ("user:<uniqueId>", "client:<id>").
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorOf is who acts in ctx (WithActor), "system" when nobody was named.
func ActorOf(ctx context.Context) string { return actorOf(ctx) }

func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}
