package httpx

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the 500 logging that error tests trigger on purpose.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
