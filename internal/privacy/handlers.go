// Package privacy is the Privacy area (spec privacy.md): consent
// definitions from the tenant file, consent events with their full,
// append-only history, marketing permissions and shields per channel,
// privacy purposes, the GDPR export of a user's data and its erasure. It owns
// its tables; it reads other areas' tables through their exported functions
// or plain SQL, and erasure anonymises customers and orders in place.
package privacy

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/billing"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/oauth"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Handlers serves the Privacy area.
type Handlers struct {
	DB *store.DB
	// OAuth revokes the erased user's tokens in this node's memory at once
	// (the database list reaches other nodes within seconds); nil when
	// routes are only listed.
	OAuth *oauth.Provider
	// Billing revokes an erased customer's stored means at the provider;
	// nil: no provider is called (the means are revoked on our side anyway).
	Billing *billing.Engine
	// Orders is the export's orders section (order.Find); nil: empty.
	Orders OrderLister
	Log    *slog.Logger
}

func (h Handlers) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// now is the business time of the request.
func now(r *http.Request) time.Time { return subscription.Now(r.Context()) }

func caller(p *auth.Principal) Caller {
	return Caller{CompanyID: p.CompanyID, CompanyCode: p.CompanyCode, ClientID: p.ClientID}
}

// boolQuery reads a boolean query parameter (true/false/1/0, any case).
func boolQuery(r *http.Request, name string, def bool) (bool, error) {
	v := r.URL.Query().Get(name)
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return def, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, errs.Field(name, "must be true or false")
}

// idQuery reads an optional positive integer query parameter (0 when absent).
func idQuery(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := digits(name, v)
	if err != nil {
		return 0, errs.Field(name, "must be an integer")
	}
	return n, nil
}

// textQuery reads an optional string query parameter of at most limit bytes.
func textQuery(r *http.Request, name string, limit int) (string, error) {
	v := r.URL.Query().Get(name)
	if len(v) > limit {
		return "", errs.Field(name, "must be at most %d characters", limit)
	}
	return v, nil
}

var languageShape = regexp.MustCompile(`^[a-z]{2}_[A-Z]{2}$`)

// consentQuery reads the filters of the consent and text lists.
func consentQuery(r *http.Request, companyID, issuerID int64, all bool) (consentFilter, error) {
	f := consentFilter{companyID: companyID, issuerID: issuerID}
	var err error
	if f.onlyActive, err = boolQuery(r, "onlyActive", true); err != nil {
		return f, err
	}
	if f.groupID, err = idQuery(r, "consentGroupId"); err != nil {
		return f, err
	}
	if !all {
		return f, nil
	}
	if f.consentID, err = idQuery(r, "consentId"); err != nil {
		return f, err
	}
	if f.target, err = textQuery(r, "target", 255); err != nil {
		return f, err
	}
	f.scope, err = textQuery(r, "scope", 255)
	return f, err
}

// userGroupOf is the subject group of a user-mode caller: its uniqueId and
// the linked customer, if any.
func userGroupOf(ctx context.Context, q store.Queryer, p *auth.Principal) (*group, error) {
	cno, err := customerNumber(ctx, q, p)
	if err != nil {
		return nil, err
	}
	return &group{uniqueID: p.UserID, userID: p.UserNumber, customer: cno}, nil
}

// consentList serves both variants of List consent given issuer.
func (h Handlers) consentList(user bool) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		issuer := r.PathValue("issuer")
		issuerID, err := findIssuer(ctx, h.DB, p.CompanyID, issuer)
		if err != nil {
			return nil, err
		}
		f, err := consentQuery(r, p.CompanyID, issuerID, false)
		if err != nil {
			return nil, err
		}
		consents, err := listConsents(ctx, h.DB, f)
		if err != nil {
			return nil, err
		}
		if user {
			g, err := userGroupOf(ctx, h.DB, p)
			if err != nil {
				return nil, err
			}
			events, err := groupEvents(ctx, h.DB, p.CompanyID, issuerID, g)
			if err != nil {
				return nil, err
			}
			st := states(events)
			for _, c := range consents {
				if given, ok := st[c.ConsentID]; ok {
					c.ConsentGiven = &given
				}
			}
		}
		return ConsentList{Issuer: issuer, Consents: nonNilList(consents)}, nil
	})
}

// ConsentIssuerList serves GET /capi/v1/customer/privacy/consents/{issuer} (consent-issuer-list).
func (h Handlers) ConsentIssuerList() http.Handler { return h.consentList(true) }

// ConsentIssuerListClient serves GET /capi/v1/client/customer/privacy/consents/{issuer}.
func (h Handlers) ConsentIssuerListClient() http.Handler { return h.consentList(false) }

// ConsentGroupList serves both variants of List consent groups.
func (h Handlers) ConsentGroupList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		issuer := r.PathValue("issuer")
		issuerID, err := findIssuer(r.Context(), h.DB, p.CompanyID, issuer)
		if err != nil {
			return nil, err
		}
		onlyActive, err := boolQuery(r, "onlyActive", true)
		if err != nil {
			return nil, err
		}
		groups, err := listGroups(r.Context(), h.DB, p.CompanyID, issuerID, onlyActive)
		if err != nil {
			return nil, err
		}
		return GroupList{Issuer: issuer, ConsentGroups: groups}, nil
	})
}

// textList serves List consent text (current) and its history variant.
func (h Handlers) textList(current bool) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		issuer := r.PathValue("issuer")
		issuerID, err := findIssuer(ctx, h.DB, p.CompanyID, issuer)
		if err != nil {
			return nil, err
		}
		f, err := consentQuery(r, p.CompanyID, issuerID, true)
		if err != nil {
			return nil, err
		}
		f.withoutLabels = true
		lang := ""
		if current {
			lang = r.URL.Query().Get("languageCode")
			if lang != "" && !languageShape.MatchString(lang) {
				return nil, errs.Field("languageCode", "must be a language code such as nb_NO")
			}
		}
		consents, err := listConsents(ctx, h.DB, f)
		if err != nil {
			return nil, err
		}
		texts, err := consentTexts(ctx, h.DB, consents, current, lang, now(r).UnixMilli())
		if err != nil {
			return nil, err
		}
		return TextList{Issuer: issuer, Consents: texts}, nil
	})
}

// ConsentTextList serves GET /capi/v1/client/customer/privacy/consent/text/{issuer}.
func (h Handlers) ConsentTextList() http.Handler { return h.textList(true) }

// ConsentTextHistoryList serves GET /capi/v1/client/customer/privacy/consent/text/history/{issuer}.
func (h Handlers) ConsentTextHistoryList() http.Handler { return h.textList(false) }

// EventHistoryClient serves GET /capi/v1/client/customer/privacy/consentEvent/history/{issuer}/{subjectType}/{subject}.
func (h Handlers) EventHistoryClient() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		typ, err := subjectType("subjectType", r.PathValue("subjectType"))
		if err != nil {
			return nil, err
		}
		onlyActive, err := boolQuery(r, "onlyActive", true)
		if err != nil {
			return nil, err
		}
		issuer := r.PathValue("issuer")
		issuerID, err := findIssuer(ctx, h.DB, p.CompanyID, issuer)
		if err != nil {
			return nil, err
		}
		subject, g, err := resolveSubject(ctx, h.DB, p.CompanyID, typ, r.PathValue("subject"), "subject")
		if err != nil {
			return nil, err
		}
		return history(ctx, h.DB, p.CompanyID, issuerID, issuer, typ, subject, g, onlyActive)
	})
}

// EventHistory serves GET /capi/v1/customer/privacy/consentEvent/history/{issuer}.
func (h Handlers) EventHistory() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		onlyActive, err := boolQuery(r, "onlyActive", true)
		if err != nil {
			return nil, err
		}
		issuer := r.PathValue("issuer")
		issuerID, err := findIssuer(ctx, h.DB, p.CompanyID, issuer)
		if err != nil {
			return nil, err
		}
		g, err := userGroupOf(ctx, h.DB, p)
		if err != nil {
			return nil, err
		}
		return history(ctx, h.DB, p.CompanyID, issuerID, issuer, SubjectConnectID, p.UserID, g, onlyActive)
	})
}

// eventRegister serves both variants of Register consent event.
func (h Handlers) eventRegister(user bool) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		var in EventInput
		if err := httpx.Decode(r, &in); err != nil {
			return nil, err
		}
		t := now(r)
		var out *Registered
		err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
			typ, subject := SubjectConnectID, p.UserID // user mode: the body's subject is ignored (README §3.1)
			if !user {
				var err error
				if typ, err = subjectType("subjectType", in.SubjectType); err != nil {
					return err
				}
				if subject, _, err = resolveSubject(ctx, tx, p.CompanyID, typ, in.Subject, "subject"); err != nil {
					return err
				}
			}
			s, err := LoadSettings(ctx, tx, p.CompanyID)
			if err != nil {
				return err
			}
			out, err = RegisterEvent(ctx, tx, s, caller(p), &in, typ, subject, t)
			return err
		})
		return out, err
	})
}

// EventRegister serves POST /capi/v1/customer/privacy/consentEvent (consent-event-register).
func (h Handlers) EventRegister() http.Handler { return h.eventRegister(true) }

// EventRegisterClient serves POST /capi/v1/client/customer/privacy/consentEvent.
func (h Handlers) EventRegisterClient() http.Handler { return h.eventRegister(false) }

// pathLevel reads {enterpriseCode} and {orderType} of a user-mode path;
// unknown or foreign codes are 404.
func pathLevel(ctx context.Context, q store.Queryer, s *Settings, r *http.Request) (level, error) {
	l := level{enterprise: r.PathValue("enterpriseCode"), orderType: r.PathValue("orderType")}
	if l.enterprise == "" {
		return l, nil
	}
	ok, err := HasEnterprise(ctx, q, s, l.enterprise)
	if err != nil {
		return l, err
	}
	if !ok {
		return l, errs.E(errs.NotFound, "no enterprise %q", l.enterprise)
	}
	if l.orderType == "" {
		return l, nil
	}
	if ok, err = HasOrderType(ctx, q, s.CompanyID, l.enterprise, l.orderType); err != nil {
		return l, err
	}
	if !ok {
		return l, errs.E(errs.NotFound, "no order type %q of enterprise %s", l.orderType, l.enterprise)
	}
	return l, nil
}

// PermissionList serves GET /capi/v1/customer/pbm, /pbm/{enterpriseCode}
// and /pbm/{enterpriseCode}/{orderType}: the level's explicit entries.
func (h Handlers) PermissionList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		s, err := LoadSettings(ctx, h.DB, p.CompanyID)
		if err != nil {
			return nil, err
		}
		l, err := pathLevel(ctx, h.DB, s, r)
		if err != nil {
			return nil, err
		}
		cno, err := customerNumber(ctx, h.DB, p)
		if err != nil || cno == 0 {
			return ChannelList{Channels: []ChannelEntry{}}, err
		}
		list, err := listChannels(ctx, h.DB, p.CompanyID, cno, l)
		return ChannelList{Channels: list}, err
	})
}

// selfService is the source logged for changes the user makes.
const selfService = "selfservice"

// PermissionChange serves POST /capi/v1/customer/pbm/{enterpriseCode} and
// /pbm/{enterpriseCode}/{orderType}: a merge per channel.
func (h Handlers) PermissionChange() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		var in ChannelChange
		if err := httpx.Decode(r, &in); err != nil {
			return nil, err
		}
		t := now(r)
		var out ChannelList
		err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
			s, err := LoadSettings(ctx, tx, p.CompanyID)
			if err != nil {
				return err
			}
			l, err := pathLevel(ctx, tx, s, r)
			if err != nil {
				return err
			}
			if in.Channels == nil {
				return errs.Field("channels", "is required")
			}
			settings, err := channelSettings(s, in.Channels, "channels")
			if err != nil {
				return err
			}
			cno, err := customerNumber(ctx, tx, p)
			if err != nil {
				return err
			}
			if cno == 0 {
				return errs.E(errs.NotFound, "no customer linked to user")
			}
			changed, err := setChannels(ctx, tx, p.CompanyID, cno, l, settings, p.ClientID, selfService, t.UnixMilli())
			if err != nil {
				return err
			}
			if changed {
				if err := customerUpdated(ctx, tx, s, cno, t); err != nil {
					return err
				}
			}
			out.Channels, err = listChannels(ctx, tx, p.CompanyID, cno, l)
			return err
		})
		return out, err
	})
}

// ShieldCheck serves the shield checks (client mode); withOrderType selects
// shield-ordertype-check-client.
func (h Handlers) ShieldCheck(withOrderType bool) http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var in ShieldRequest
		if err := httpx.Decode(r, &in); err != nil {
			return nil, err
		}
		s, err := LoadSettings(r.Context(), h.DB, p.CompanyID)
		if err != nil {
			return nil, err
		}
		return CheckShield(r.Context(), h.DB, s, &in, withOrderType)
	})
}

// PurposeList serves GET /capi/v1/customer/privacy/{enterpriseCode} and
// /privacy/{enterpriseCode}/{orderType}.
func (h Handlers) PurposeList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		s, err := LoadSettings(ctx, h.DB, p.CompanyID)
		if err != nil {
			return nil, err
		}
		l, err := pathLevel(ctx, h.DB, s, r)
		if err != nil {
			return nil, err
		}
		cno, err := customerNumber(ctx, h.DB, p)
		if err != nil || cno == 0 {
			return PurposeList{Permission: []PurposeEntry{}}, err
		}
		list, err := listPurposes(ctx, h.DB, p.CompanyID, cno, l)
		return PurposeList{Permission: list}, err
	})
}

// PurposeChange serves POST /capi/v1/customer/privacy/{enterpriseCode} and
// /privacy/{enterpriseCode}/{orderType}: the body replaces the level's set.
func (h Handlers) PurposeChange() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		ctx := r.Context()
		var in PurposeChange
		if err := httpx.Decode(r, &in); err != nil {
			return nil, err
		}
		t := now(r)
		var out PurposeList
		err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
			s, err := LoadSettings(ctx, tx, p.CompanyID)
			if err != nil {
				return err
			}
			l, err := pathLevel(ctx, tx, s, r)
			if err != nil {
				return err
			}
			if in.Permission == nil {
				return errs.Field("permission", "is required (an empty list clears the set)")
			}
			codes, err := purposeCodes(s, *in.Permission, "permission")
			if err != nil {
				return err
			}
			cno, err := customerNumber(ctx, tx, p)
			if err != nil {
				return err
			}
			if cno == 0 {
				return errs.E(errs.NotFound, "no customer linked to user")
			}
			changed, err := setPurposes(ctx, tx, p.CompanyID, cno, l, codes, true, t.UnixMilli())
			if err != nil {
				return err
			}
			if changed {
				if err := customerUpdated(ctx, tx, s, cno, t); err != nil {
					return err
				}
			}
			out.Permission, err = listPurposes(ctx, tx, p.CompanyID, cno, l)
			return err
		})
		return out, err
	})
}

// PrivateDataAccess serves GET /capi/v1/customer/private-data (private-data-access).
func (h Handlers) PrivateDataAccess() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		t := now(r)
		retry, err := claimExport(r.Context(), h.DB, p.UserNumber, t)
		if err != nil {
			if errs.Is(err, errs.TooManyRequests) {
				w.Header().Set("Retry-After", strconv.FormatInt(retry, 10))
			}
			httpx.Fail(w, r, err)
			return
		}
		out, err := h.export(r.Context(), p, t)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, out)
	})
}

// PrivateDataRemove serves DELETE /capi/v1/customer/private-data (private-data-remove).
func (h Handlers) PrivateDataRemove() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		dryRun, err := boolQuery(r, "dryRun", false)
		if err != nil {
			return nil, err
		}
		return h.erase(r.Context(), p, dryRun, now(r))
	})
}
