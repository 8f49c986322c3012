package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/connect-oss/connect/internal/app"
	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/tenant"
)

// eventsFlags are the flags of `connect events`.
type eventsFlags struct {
	action    string // failed or replay
	id        string
	allFailed bool
	company   string
	limit     int
}

const eventsUsage = "events: usage: connect events failed [--company CODE] [--limit N] | connect events replay (--id EVENT_ID | --all-failed) [--company CODE]"

// runEvents lists failed deliveries or replays them (operators' CLI).
func runEvents(ctx context.Context, a *app.App, args []string, f eventsFlags, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" {
		return errors.New(eventsUsage)
	}
	var companyID int64
	if f.company != "" {
		c, err := tenant.GetCompanyByCode(ctx, a.DB, f.company)
		if err != nil {
			return fmt.Errorf("company %s: %w", f.company, err)
		}
		companyID = c.ID
	}
	switch args[0] {
	case "failed":
		list, err := event.ListFailed(ctx, a.DB, event.ListOptions{CompanyID: companyID, Limit: f.limit})
		if err != nil {
			return err
		}
		printDeliveries(stdout, list)
		fmt.Fprintf(stdout, "%d failed deliveries\n", len(list))
		return nil
	case "replay":
		switch {
		case f.id != "" && f.allFailed, f.id == "" && !f.allFailed:
			return errors.New("events replay: give either --id EVENT_ID or --all-failed")
		case f.allFailed:
			n, err := event.ReplayFailed(ctx, a.DB, companyID, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d failed deliveries queued again\n", n)
			return nil
		default:
			list, err := event.Replay(ctx, a.DB, companyID, f.id, time.Now())
			if err != nil {
				return err
			}
			printDeliveries(stdout, list)
			fmt.Fprintf(stdout, "event %s queued again for %d endpoints\n", f.id, len(list))
			return nil
		}
	default:
		return errors.New(eventsUsage)
	}
}

func printDeliveries(w io.Writer, list []event.Delivery) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT\tSOURCE\tTYPE/STATUS\tTIME\tENDPOINT\tSTATE\tATTEMPTS\tLAST ERROR")
	for _, d := range list {
		endpoint := d.Target
		if d.ClientID != "" {
			endpoint = d.ClientID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t%s\t%s\t%d\t%s\n", d.EventID, d.Source, d.Type, d.Status,
			time.UnixMilli(d.Time).UTC().Format(time.RFC3339), endpoint, d.State, d.Attempts, strings.ReplaceAll(d.LastError, "\n", " "))
	}
	tw.Flush()
}

// setDemoWebhook points the demo client's webhook at url with a fresh secret
// and prints both, so anyone can watch signed events arrive.
func setDemoWebhook(ctx context.Context, a *app.App, url, publicURL string, stdout io.Writer) error {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	secret := "whsec_" + hex.EncodeToString(b[:])
	if err := event.SetWebhook(ctx, a.DB, "demo.web", url, secret, []string{publicURL}, time.Now()); err != nil {
		return fmt.Errorf("--demo-webhook: %w", err)
	}
	fmt.Fprintf(stdout, "  Demo webhook: events of DEMO go to %s\n", url)
	fmt.Fprintf(stdout, "    signed with secret %s (%s: sha256=HMAC-SHA256(secret, %s + \".\" + body))\n",
		secret, event.HeaderSignature, event.HeaderTimestamp)
	return nil
}
