package pages_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/testkit"
)

// chromium finds a Chromium binary: CONNECT_TEST_CHROMIUM, else Debian's.
func chromium() string {
	if p := os.Getenv("CONNECT_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	return ""
}

// TestRealBrowserLogin logs a user in through the real pages in headless
// Chromium: authorize → login form (typed and submitted by the browser) →
// redirect to the client's callback with a code, which the test redeems.
func TestRealBrowserLogin(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no Chromium found (set CONNECT_TEST_CHROMIUM or install Debian's chromium)")
	}
	e := testkit.New(t, store.SQLite)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// A bound on the whole browser session, so a Chromium that hangs fails
	// this test instead of the suite's timeout.
	ctx, cancelAll := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelAll()
	verifier, challenge := testkit.PKCE()
	start := e.URL + testkit.AuthorizeURL(testkit.ClientID, testkit.RedirectURI, "browser-state", challenge, "")
	err := chromedp.Do(ctx,
		chromedp.Navigate(start),
		chromedp.WaitVisible(`#j_username`),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatalf("title: %v", err)
	}
	// The callback host has no server, so the browser ends on an error
	// page: watch its requests for the redirect to the callback instead.
	callback := make(chan string, 4)
	if err := chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok && strings.HasPrefix(r.Request.URL, testkit.RedirectURI) {
			select {
			case callback <- r.Request.URL:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`#j_username`, testkit.AliceEmail),
		chromedp.SendKeys(`#j_password`, testkit.AlicePassword),
		chromedp.Click(`#login`),
	)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	// A bound, not a timing assertion: a browser that never gets there fails.
	wait, cancelWait := context.WithTimeout(ctx, time.Minute)
	defer cancelWait()
	var location string
	select {
	case location = <-callback:
	case <-wait.Done():
		t.Fatal("the browser was never sent to the callback")
	}
	if !strings.Contains(title, "Log in") {
		t.Errorf("title %q", title)
	}
	u, err := url.Parse(location)
	if err != nil || u.Query().Get("state") != "browser-state" || u.Query().Get("code") == "" {
		t.Fatalf("callback %q", location)
	}
	res, tok := e.Exchange(testkit.ClientID, testkit.ClientSecret, u.Query().Get("code"), testkit.RedirectURI, verifier)
	if res.Status != http.StatusOK {
		t.Fatalf("exchange: %d %s", res.Status, res.Body)
	}
	prof := e.Call(testkit.Request{Method: "GET", Path: "/capi/v1/customer/profile", Token: tok.AccessToken})
	if prof.Status != 200 || !strings.Contains(string(prof.Body), "<email>alice@example.com</email>") {
		t.Fatalf("profile: %d %s", prof.Status, prof.Body)
	}
}
