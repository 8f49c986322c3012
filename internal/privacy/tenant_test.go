package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/tenant"
)

// acmeFile is a tenant file with ACME's privacy section.
func acmeFile(privacy string) []byte {
	return []byte("companies:\n  - code: ACME\n    name: Acme Media\n    country: NO\n    privacy:\n" + privacy)
}

func TestTenantPrivacySection(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// Re-applying the fixture changes nothing.
		res, err := e.App.ApplyTenantFile(ctx, "again.yaml", acmeFile(`
      purposes: [DM, EM, TM, SM, PROFILE]
      enterprises:
        - {code: ACME, orderTypes: [NEWS, PAPER]}
        - {code: ACMEMKT, orderTypes: [LETTER]}
      issuers:
        - issuer: "468979834"
          consentGroups:
            - {consentGroupId: 2, selectionOrder: 2, active: false, texts: [{languageCode: nb_NO, name: Gammelt}]}
          consents:
            - {consentId: 4, target: marketing, scope: sms, displayMode: H, selectionOrder: 1, created: 2019-06-01}
`))
		if err != nil || !res.Unchanged {
			t.Fatalf("re-apply = %+v, %v", res, err)
		}
		// A new version closes the one in force; the next apply of the same file changes nothing.
		next := acmeFile(`
      issuers:
        - issuer: "468979834"
          consents:
            - consentId: 4
              target: marketing
              scope: sms
              displayMode: H
              selectionOrder: 1
              created: 2019-06-01
              texts:
                - languageCode: nb_NO
                  name: SMS-tilbud
                  versions:
                    - {text: "Vil du få tilbud på SMS?", fromDate: 2020-01-01}
                    - {text: "Vil du få tilbud fra Acme på SMS?", fromDate: 2024-05-01}
            - {consentId: 6, consentGroupId: 0, parentConsentId: 4, target: marketing, scope: sms-sport, selectionOrder: 2}
`)
		for i := range 2 {
			res, err := e.App.ApplyTenantFile(ctx, "next.yaml", next)
			if err != nil || res.Unchanged == (i == 0) {
				t.Fatalf("apply %d = %+v, %v", i, res, err)
			}
		}
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consent/text/history/468979834?consentId=4", e.client, ""), 200,
			`"text":"Vil du få tilbud på SMS?","fromDate":`, `,"toDate":`, `{"consentTextHistoryId":6,"text":"Vil du få tilbud fra Acme på SMS?","fromDate":`)
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consents/468979834", e.client, ""), 200, `"consentId":6,"target":"marketing","scope":"sms-sport","parentConsentId":4`)

		// Refused: a published wording changed, a version inserted before the latest, a moved or renamed consent,
		// another company's id. Nothing of the file is applied.
		for _, c := range []struct{ yaml, msg string }{
			{`
      issuers:
        - issuer: "468979834"
          consents:
            - consentId: 4
              target: marketing
              scope: sms
              texts: [{languageCode: nb_NO, name: SMS, versions: [{text: "Endret tekst", fromDate: 2020-01-01}]}]
`, "never changes"},
			{`
      issuers:
        - issuer: "468979834"
          consents:
            - consentId: 4
              target: marketing
              scope: sms
              texts: [{languageCode: nb_NO, name: SMS, versions: [{text: "Ny", fromDate: 2023-01-01}]}]
`, "after the latest published version"},
			{`
      issuers:
        - issuer: "468979834"
          consents: [{consentId: 4, target: marketing, scope: email}]
`, "target and scope never change"},
			{`
      issuers:
        - issuer: ACME-ADS
          consents: [{consentId: 4, target: marketing, scope: sms}]
`, "another issuer"},
			{`
      issuers:
        - issuer: "468979834"
          consents: [{consentId: 10, target: x, scope: y}]
`, "belongs to another company"},
			{`
      issuers:
        - issuer: "468979834"
          consents: [{consentId: 77, target: editorial, scope: email}]
`, "cannot get another consentId"},
			{`
      issuers:
        - issuer: "468979834"
          consentGroups: [{consentGroupId: 1, selectionOrder: 1}]
        - issuer: ACME-ADS
          consentGroups: [{consentGroupId: 1, selectionOrder: 1}]
`, "duplicate consentGroupId"},
		} {
			_, err := e.App.ApplyTenantFile(ctx, "bad.yaml", acmeFile(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("apply %s: %v, want %q", c.yaml, err, c.msg)
			}
		}
		want(t, e.call("GET", "/capi/v1/client/customer/privacy/consent/text/history/468979834?consentId=4", e.client, ""), 200, `"text":"Vil du få tilbud på SMS?"`)
		if n := e.count(`SELECT COUNT(*) FROM consents WHERE id = 77`); n != 0 {
			t.Error("a refused file was partly applied")
		}
		var conflict *errs.Error
		_, err = e.App.ApplyTenantFile(ctx, "bad.yaml", acmeFile("      issuers: [{issuer: \"468979834\", consents: [{consentId: 10, target: x, scope: y}]}]\n"))
		if !errors.As(err, &conflict) || conflict.Kind != errs.Conflict {
			t.Errorf("another company's consentId: %v", err)
		}
	})
}

// TestTenantPrivacyValidation: every problem of a privacy section is
// reported with its line, before anything is applied.
func TestTenantPrivacyValidation(t *testing.T) {
	for _, c := range []struct{ yaml, problem string }{
		{"      defaultLanguage: norsk\n", "privacy.defaultLanguage"},
		{"      consentEvidenceYears: 0\n", "privacy.consentEvidenceYears"},
		{"      accountingRetentionYears: 31\n", "privacy.accountingRetentionYears"},
		{"      channels: []\n", "privacy.channels: must list at least one"},
		{"      channels: [TM, tm]\n", "privacy.channels[1]: duplicate"},
		{"      purposes: [\"with space\"]\n", "privacy.purposes[0]"},
		{"      enterprises: [{code: consents}]\n", "privacy.enterprises[0].code: \"consents\" is a path segment"},
		{"      enterprises: [{code: A}, {code: A}]\n", "privacy.enterprises[1].code: duplicate"},
		{"      enterprises: [{code: A, orderTypes: [N, N]}]\n", "privacy.enterprises[0].orderTypes[1]"},
		{"      issuers: [{issuer: \"\"}]\n", "privacy.issuers[0].issuer: is required"},
		{"      issuers: [{issuer: \"a/b\"}]\n", "privacy.issuers[0].issuer"},
		{"      issuers: [{issuer: X, consents: [{consentId: 0, target: t, scope: s}]}]\n", "consents[0].consentId"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, scope: s}]}]\n", "consents[0].target: is required"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s}, {consentId: 2, target: t, scope: s}]}]\n", "consents[1].scope: target"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s, consentGroupId: 9}]}]\n", "consents[0].consentGroupId"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s, parentConsentId: 5}]}]\n", "consents[0].parentConsentId: is not a consent"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s, parentConsentId: 2}, {consentId: 2, target: t, scope: u, parentConsentId: 1}]}]\n", "own ancestors"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s, displayMode: B}]}]\n", "displayMode"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s, created: yesterday}]}]\n", "consents[0].created"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s, texts: [{languageCode: nb, name: n}]}]}]\n", "texts[0].languageCode"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s, texts: [{languageCode: nb_NO}]}]}]\n", "texts[0].name"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s, texts: [{languageCode: nb_NO, name: n, versions: [{text: a, fromDate: 2024-02-01}, {text: b, fromDate: 2024-01-01}]}]}]}]\n", "versions[1].fromDate: must be after"},
		{"      issuers: [{issuer: X, consents: [{consentId: 1, target: t, scope: s, texts: [{languageCode: nb_NO, name: n, versions: [{fromDate: 2024-02-01}]}]}]}]\n", "versions[0].text"},
		{"      issuers: [{issuer: X, consentGroups: [{consentGroupId: -1}]}]\n", "consentGroups[0].consentGroupId"},
		{"      colour: blue\n", "colour"},
	} {
		_, err := tenant.Parse("t.yaml", acmeFile(c.yaml))
		var fe *tenant.FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.problem) || !strings.Contains(err.Error(), "t.yaml:") {
			t.Errorf("%s: %v, want a problem with %q and its line", c.yaml, err, c.problem)
		}
	}
	if _, err := tenant.Parse("ok.yaml", acmeFile(fmt.Sprintf("      channels: [TM, DM]\n      consentEvidenceYears: %d\n", 5))); err != nil {
		t.Errorf("a valid section: %v", err)
	}
}
