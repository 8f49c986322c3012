package event_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-oss/connect/internal/event"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
)

const localNATS = "nats://127.0.0.1:4222"

// TestPublishesToJetStream runs against the local NATS server when one answers.
func TestPublishesToJetStream(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "127.0.0.1:4222", time.Second); err != nil {
		t.Skip("no NATS server at 127.0.0.1:4222")
	} else {
		c.Close()
	}
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		var b [5]byte
		rand.Read(b[:])
		suffix := hex.EncodeToString(b[:])
		cfg := event.NATSConfig{URL: localNATS, Stream: "CONNECT_TEST_" + strings.ToUpper(suffix), SubjectPrefix: "connecttest" + suffix}
		pub, err := event.DialNATS(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer pub.Close()
		nc, err := nats.Connect(localNATS)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		defer js.DeleteStream(context.Background(), cfg.Stream)
		// Dialling again finds the stream instead of failing.
		if again, err := event.DialNATS(ctx, cfg); err != nil {
			t.Fatalf("second dial: %v", err)
		} else {
			again.Close()
		}

		e := newEnv(t, d)
		e.run(fast(event.Config{Stream: pub}))
		id := e.record(e.acme, "ACME", event.TypeOrder, "new", map[string]any{"orderId": 42}, time.UnixMilli(1000))
		stream, err := js.Stream(ctx, cfg.Stream)
		if err != nil {
			t.Fatal(err)
		}
		var msg *jetstream.RawStreamMsg
		waitFor(t, "message on the stream", func() bool {
			msg, err = stream.GetLastMsgForSubject(ctx, cfg.SubjectPrefix+".ACME.order")
			return err == nil
		})
		if got := msg.Header.Get(jetstream.MsgIDHeader); got != id {
			t.Errorf("Nats-Msg-Id %q, want %q", got, id)
		}
		if want := `{"time":1000,"type":"order","source":"ACME","status":"new","data":{"orderId":42}}`; string(msg.Data) != want {
			t.Errorf("data %s", msg.Data)
		}
		// A re-publish (a retry after a lost acknowledgement) is de-duplicated.
		if err := pub.Publish(ctx, "ACME", "order", id, msg.Data); err != nil {
			t.Fatal(err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 1 {
			t.Errorf("%d messages on the stream, want 1", info.State.Msgs)
		}
		waitFor(t, "delivered state", func() bool {
			var s string
			e.db.QueryRowContext(ctx, `SELECT d.state FROM event_deliveries d JOIN event_endpoints p ON p.id = d.endpoint_id WHERE d.event_id = $1 AND p.target = 'nats'`, id).Scan(&s)
			return s == event.StateDelivered
		})
	})
}
