package server_test

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/connect-oss/connect/api"
	"github.com/connect-oss/connect/internal/server"
)

// TestRoutesMatchOpenAPI fails when routes.go and api/openapi.yaml disagree:
// every route is documented with its id as operationId, and every documented
// operation is served.
func TestRoutesMatchOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("api/openapi.yaml is invalid: %v", err)
	}
	documented := map[string]string{} // "METHOD path" → operationId
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = op.OperationID
		}
	}
	served := map[string]string{}
	ids := map[string]bool{}
	patterns := map[string]bool{}
	for _, rt := range server.Routes(server.Deps{}) {
		pattern := rt.Method + " " + rt.Path
		if patterns[pattern] {
			t.Errorf("route %s listed twice", pattern)
		}
		if ids[rt.ID] {
			t.Errorf("route id %s used twice", rt.ID)
		}
		patterns[pattern], ids[rt.ID] = true, true
		if len(rt.Serves) == 0 {
			served[pattern] = rt.ID
			continue
		}
		// A pattern standing for several documented operations (README §14).
		for _, op := range rt.Serves {
			id, key, ok := strings.Cut(op, " ")
			if !ok || !strings.HasPrefix(key, rt.Method+" ") {
				t.Errorf("route %s: bad Serves entry %q", pattern, op)
				continue
			}
			served[key] = id
		}
	}
	var problems []string
	for key, id := range served {
		docID, ok := documented[key]
		switch {
		case !ok:
			problems = append(problems, "served but not documented: "+key)
		case docID != id:
			problems = append(problems, "operationId of "+key+" is "+docID+", route id is "+id)
		}
	}
	for key := range documented {
		if _, ok := served[key]; !ok {
			problems = append(problems, "documented but not served: "+key)
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

// TestRouteIDsAreSpecIDs checks that API routes use the operation ids of
// spec/endpoints.tsv style (lower-case words joined by dashes).
func TestRouteIDsAreSpecIDs(t *testing.T) {
	idShape := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	for _, rt := range server.Routes(server.Deps{}) {
		if !idShape.MatchString(rt.ID) {
			t.Errorf("route id %q is not lower-case-with-dashes", rt.ID)
		}
		if strings.HasPrefix(rt.Path, "/capi/v1/client/") && rt.Mode != server.ClientOnly {
			t.Errorf("%s %s: client-mode paths need a client token", rt.Method, rt.Path)
		}
		if rt.Method != http.MethodGet && rt.Method != http.MethodPost && rt.Method != http.MethodPut &&
			rt.Method != http.MethodPatch && rt.Method != http.MethodDelete {
			t.Errorf("%s %s: unexpected method", rt.Method, rt.Path)
		}
	}
}
