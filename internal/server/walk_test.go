package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/server"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/store/storetest"
	"github.com/connect-oss/connect/internal/testkit"
)

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestNoRouteAnswers5xxToJunk walks every route with junk path values, junk
// query strings and malformed bodies, using a token of the route's mode:
// every answer must be a documented status below 500 (the test kit checks
// each response against api/openapi.yaml too).
func TestNoRouteAnswers5xxToJunk(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, d store.Dialect) {
		e := testkit.New(t, d, testkit.WithoutRateLimits()) // the walk sends thousands of calls
		e.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		clientToken := e.ClientToken()
		userToken := e.MintUserToken(strings.Repeat("ab", 16), 987654, 0)
		pathValues := []string{"x", "0", "-1", "99999999999999999999", strings.Repeat("a", 300), "%E2%82", "12345"}
		bodies := []struct{ contentType, body string }{
			{"", ""},
			{"application/json", "{"},
			{"application/json", `{"orderId":"x","customerNumber":-5,"product":123,"shareCode":null,"items":[1,2]}`},
			{"application/json", `[1,2,3]`},
			{"application/xml", "<data><item0>"},
			{"application/xml", "<data><customerNumber>abc</customerNumber><orderLines><item0><quantity>-3</quantity></item0></orderLines></data>"},
			{"text/plain", "hello"},
			{"application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=%E2%82&client_secret=%E2%82&code=%E2%82" +
				"&refresh_token=%E2%82&token=%E2%82&j_username=%E2%82&j_password=x&credential=%E2%82&csrf=x&returnUrl=%E2%82"},
		}
		statuses := map[int]int{}
		for _, rt := range server.Routes(server.Deps{}) {
			if rt.Path == "/readyz" || rt.Path == "/metrics" {
				continue
			}
			token := ""
			switch rt.Mode {
			case server.ClientOnly:
				token = clientToken
			case server.UserOnly:
				token = userToken
			}
			for i, v := range pathValues {
				path := pathParam.ReplaceAllString(rt.Path, v) + "?clientId=" + []string{"acme.web", "x", ""}[i%3] +
					"&returnUrl=http%3A%2F%2Flocalhost%2F&orderId=" + v + "&from=2024-99-99&limit=-1&productId=" + v
				for _, b := range bodies {
					if rt.Method == http.MethodGet && b.body != "" {
						continue
					}
					res := e.Call(testkit.Request{Method: rt.Method, Path: path, Token: token, Accept: "application/json",
						ContentType: b.contentType, Body: b.body})
					statuses[res.Status]++
					if res.Status >= 500 {
						t.Errorf("%s %s (%s %q): %d %.300s", rt.Method, path, b.contentType, b.body, res.Status, res.Body)
					}
				}
			}
		}
		// The walk must reach the handlers' validation, not stop at routing.
		if statuses[http.StatusBadRequest] < 500 || statuses[http.StatusNotFound] == 0 {
			t.Errorf("walk did not exercise the handlers: %v", statuses)
		}
		t.Logf("statuses: %v", statuses)
	})
}
