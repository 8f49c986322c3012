package event

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher puts an event on a stream; a nil error means the stream stored it.
// Publishing the same event id twice must store it once.
type Publisher interface {
	Publish(ctx context.Context, companyCode, eventType, eventID string, body []byte) error
}

// NATSConfig names the JetStream stream and subject prefix; zero values take
// CONNECT and "connect" (subjects connect.<companyCode>.<type>).
type NATSConfig struct {
	URL           string
	Stream        string
	SubjectPrefix string
}

// NATS publishes events to JetStream. Nats-Msg-Id is the event id, so a
// re-publish after a lost acknowledgement is dropped by the stream's
// duplicate window instead of stored twice.
type NATS struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	prefix string
}

// DialNATS connects and creates the stream when it is missing.
func DialNATS(ctx context.Context, cfg NATSConfig) (*NATS, error) {
	if cfg.Stream == "" {
		cfg.Stream = "CONNECT"
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = "connect"
	}
	nc, err := nats.Connect(cfg.URL, nats.Name("connect"), nats.MaxReconnects(-1), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	_, err = js.Stream(ctx, cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:       cfg.Stream,
			Subjects:   []string{cfg.SubjectPrefix + ".>"},
			Storage:    jetstream.FileStorage,
			Duplicates: 10 * time.Minute,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // another node created it first
		}
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream stream %s: %w", cfg.Stream, err)
	}
	return &NATS{nc: nc, js: js, prefix: cfg.SubjectPrefix}, nil
}

// Subject is where an event of the company and type is published.
func (n *NATS) Subject(companyCode, eventType string) string {
	return n.prefix + "." + companyCode + "." + eventType
}

// Publish implements Publisher.
func (n *NATS) Publish(ctx context.Context, companyCode, eventType, eventID string, body []byte) error {
	msg := nats.NewMsg(n.Subject(companyCode, eventType))
	msg.Data = body
	msg.Header.Set("Content-Type", "application/json")
	_, err := n.js.PublishMsg(ctx, msg, jetstream.WithMsgID(eventID))
	return err
}

// Close drains nothing (every publish is acknowledged) and disconnects.
func (n *NATS) Close() { n.nc.Close() }
