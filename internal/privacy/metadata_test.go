package privacy_test

import (
	"encoding/json"
	"testing"

	"github.com/connect-oss/connect/internal/privacy"
)

// User Data metadata in Access private data (every client of the company,
// keyed by clientId) and in Remove private data (deleted everywhere).
func TestPrivateDataMetadata(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		alice := e.login("alice@example.com", "alice-password")
		bob := e.login("bob@example.com", "bob-password")
		other := e.Token("acme.unlimited", "acme-unlimited-secret")
		want(t, e.call("POST", "/capi/v1/customer/metadata", alice.token, `{"theme":"dark"}`), 200)
		want(t, e.call("POST", "/capi/v1/client/metadata/"+alice.uniqueID, other, `{"segment":7}`), 200)
		// Another company's client (RIVAL created the fixture users) and another user.
		want(t, e.call("POST", "/capi/v1/client/metadata/"+alice.uniqueID, e.rival, `{"rival":true}`), 200)
		want(t, e.call("POST", "/capi/v1/customer/metadata", bob.token, `{"bob":1}`), 200)

		r := e.call("GET", "/capi/v1/customer/private-data", alice.token, "")
		want(t, r, 200, `"metadata":{"acme.unlimited":{"segment":7},"acme.web":{"theme":"dark"}}`)
		x := decode[privacy.Export](t, r)
		if len(x.Metadata) != 2 {
			t.Errorf("metadata section: %v", x.Metadata)
		}
		none := decode[privacy.Export](t, e.call("GET", "/capi/v1/customer/private-data", e.minted(1, 0).token, ""))
		if b, _ := json.Marshal(none.Metadata); string(b) != `{}` {
			t.Errorf("a user without metadata: %s", b)
		}

		// A dry run keeps it; the erasure deletes the account's objects in every company.
		want(t, e.call("DELETE", "/capi/v1/customer/private-data?dryRun=true", alice.token, ""), 200)
		if n := e.count(`SELECT COUNT(*) FROM user_metadata WHERE user_id = $1`, alice.userID); n != 3 {
			t.Fatalf("after the dry run: %d objects, want 3", n)
		}
		want(t, e.call("DELETE", "/capi/v1/customer/private-data", alice.token, ""), 200)
		if n := e.count(`SELECT COUNT(*) FROM user_metadata WHERE user_id = $1`, alice.userID); n != 0 {
			t.Errorf("after the erasure: %d objects of the user", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM privacy_erasures WHERE counts LIKE '%"metadata":3%'`); n != 1 {
			t.Errorf("erasure counts do not record 3 metadata objects")
		}
		// The erased account is unknown to the clients; other users keep theirs.
		want(t, e.call("GET", "/capi/v1/client/metadata/"+alice.uniqueID, e.client, ""), 404, "NotFoundException")
		want(t, e.call("GET", "/capi/v1/client/metadata/"+alice.uniqueID, e.rival, ""), 404, "NotFoundException")
		want(t, e.call("GET", "/capi/v1/customer/metadata", bob.token, ""), 200, `{"bob":1}`)
	})
}
