package subscription

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
)

// UserResolver finds a ConnectID user by uniqueId or credential (e-mail or
// E.164 phone) and returns the user's numeric id; ok is false when unknown.
// The wiring supplies it from the identity package.
type UserResolver func(ctx context.Context, uniqueID, credential string) (userNumber int64, ok bool, err error)

// Handlers serves the Subscription, Sharing and Access groups.
type Handlers struct {
	DB          *store.DB
	Cache       *EntitlementCache // nil: every check reads the database
	Now         func() time.Time  // business clock; nil = time.Now
	ResolveUser UserResolver      // nil: credentials match customers' e-mail/phone only
	// InvoiceStart issues the first invoice of a subscription started on a
	// priced coupon (allowInvoiceStart); nil: such starts are refused.
	InvoiceStart func(ctx context.Context, tx *sql.Tx, s *Sub) error
	// SendInvitation delivers a share invitation (e-mail or SMS) after it
	// is stored; nil: invitations are stored only (the owner passes on the code).
	SendInvitation func(ctx context.Context, m Invitation) error
}

func (h Handlers) ctx(r *http.Request) context.Context {
	ctx := r.Context()
	if h.Now != nil {
		ctx = WithClock(ctx, h.Now)
	}
	if p := auth.FromContext(ctx); p != nil {
		if p.Mode == auth.UserMode {
			ctx = WithActor(ctx, "user:"+p.UserID)
		} else {
			ctx = WithActor(ctx, "client:"+p.ClientID)
		}
	}
	return ctx
}

// AccessRequest is the body of both access checks (userdata.md Access).
type AccessRequest struct {
	Product         string `json:"product"`
	ArticleID       string `json:"articleId"`
	Issue           string `json:"issue"`
	CategoryType    string `json:"categoryType"`
	Domain          string `json:"domain"`
	IP              string `json:"ip"`
	AccessDomain    bool   `json:"accessDomain"`
	AccessAzureAd   bool   `json:"accessAzureAd"`
	AccessAidFamily bool   `json:"accessAidFamily"`
	AccessArticle   bool   `json:"accessArticle"`
	UniqueID        string `json:"uniqueId"`
	Credential      string `json:"credential"`
	CustomerNumber  int64  `json:"customerNumber"`
}

// AccessEntry is one evaluated level.
type AccessEntry struct {
	Access      bool   `json:"access"`
	AccessLevel string `json:"accessLevel"`
	AccessType  string `json:"accessType"`
	Product     string `json:"product,omitempty"`
	StartTime   int64  `json:"startTime,omitempty"`
	EndTime     int64  `json:"endTime,omitempty"`
}

// AccessResponse is the answer of both access checks.
type AccessResponse struct {
	Access     bool          `json:"access"`
	Accesses   []AccessEntry `json:"accesses"`
	ArticleIDs []string      `json:"articleIds,omitempty"`
}

// accessQuery is a validated request.
type accessQuery struct {
	products      []string // empty: any
	categoryType  string
	articleID     string
	issue         string
	accessArticle bool
	ip            netip.Addr
	domains       []string
	netLevel      bool
}

func parseAccess(b *AccessRequest) (accessQuery, error) {
	var q accessQuery
	if b.Product == "" && b.ArticleID == "" && b.CategoryType == "" && b.IP == "" && b.Domain == "" &&
		!b.AccessDomain && !b.AccessAzureAd && !b.AccessArticle {
		return q, errs.Field("product", "one of product, articleId, categoryType, ip, domain, accessDomain, accessAzureAd or accessArticle is required")
	}
	if b.Product != "" {
		for p := range strings.SplitSeq(b.Product, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if len(p) > 12 {
				return q, errs.Field("product", "codes are at most 12 characters")
			}
			q.products = append(q.products, p)
		}
	}
	if len(b.ArticleID) > 40 {
		return q, errs.Field("articleId", "at most 40 characters")
	}
	if b.Issue != "" {
		if len(b.Issue) > 10 {
			return q, errs.Field("issue", "at most 10 characters")
		}
		if b.Product == "" {
			return q, errs.Field("issue", "needs product")
		}
	}
	if len(b.CategoryType) > 12 {
		return q, errs.Field("categoryType", "at most 12 characters")
	}
	if len(b.Domain) > 255 {
		return q, errs.Field("domain", "at most 255 characters")
	}
	if len(b.Credential) > 60 {
		return q, errs.Field("credential", "at most 60 characters")
	}
	if b.IP != "" {
		a, err := netip.ParseAddr(strings.TrimSpace(b.IP))
		if err != nil {
			return q, errs.Field("ip", "must be an IPv4 or IPv6 address")
		}
		q.ip = a.Unmap()
	}
	if b.Domain != "" {
		q.domains = append(q.domains, b.Domain)
	}
	q.netLevel = b.IP != "" || b.Domain != "" || b.AccessDomain || b.AccessAzureAd
	q.categoryType, q.articleID, q.issue = strings.TrimSpace(b.CategoryType), strings.TrimSpace(b.ArticleID), strings.TrimSpace(b.Issue)
	q.accessArticle = b.AccessArticle && q.articleID == ""
	return q, nil
}

// matches reports whether a grant meets the object criteria.
func (q *accessQuery) matches(e Entitlement) bool {
	if len(q.products) == 0 {
		return true
	}
	for _, p := range q.products {
		if strings.EqualFold(p, e.Product) {
			return true
		}
	}
	return false
}

// level evaluates one level over grants.
func (q *accessQuery) level(level string, grants []Entitlement, now int64) AccessEntry {
	var best *Entitlement
	for i := range grants {
		g := &grants[i]
		if g.Level != level || !g.validAt(now) || !q.matches(*g) {
			continue
		}
		if best == nil || g.better(*best) {
			best = g
		}
	}
	if best == nil {
		return AccessEntry{AccessLevel: level, AccessType: "D"}
	}
	e := AccessEntry{Access: true, AccessLevel: level, AccessType: "A", Product: best.Product}
	if best.ValidUntil != 0 {
		e.AccessType, e.StartTime, e.EndTime = "B", best.ValidFrom, best.ValidUntil-1000
	}
	return e
}

// evaluate answers a check for customer (0 = none) and, when the user is
// known, its e-mail domains (accessDomain).
func (h Handlers) evaluate(ctx context.Context, companyID int64, q accessQuery, customerNo int64, hasUser bool, emailDomain string) (AccessResponse, error) {
	now := Now(ctx).UnixMilli()
	var grants []Entitlement
	if customerNo != 0 {
		var err error
		if grants, err = h.entitlements(ctx, companyID, customerNo); err != nil {
			return AccessResponse{}, err
		}
	}
	resp := AccessResponse{Accesses: make([]AccessEntry, 0, 3)}
	if hasUser {
		grants, err := h.withObjects(ctx, companyID, customerNo, &q, grants)
		if err != nil {
			return AccessResponse{}, err
		}
		resp.Accesses = append(resp.Accesses, q.level("A", grants, now), q.level("B", grants, now))
		if q.accessArticle && customerNo != 0 {
			if resp.ArticleIDs, err = h.articleIDs(ctx, companyID, customerNo, q.products); err != nil {
				return AccessResponse{}, err
			}
		}
	}
	if q.netLevel {
		if emailDomain != "" {
			q.domains = append(q.domains, emailDomain)
		}
		nets, err := netGrants(ctx, h.DB, companyID, q.ip, q.domains)
		if err != nil {
			return AccessResponse{}, err
		}
		// Nets grant subscriptions: no purchase of an article or issue.
		if nets, err = h.withObjects(ctx, companyID, 0, &q, nets); err != nil {
			return AccessResponse{}, err
		}
		resp.Accesses = append(resp.Accesses, q.level("C", nets, now))
	}
	for _, a := range resp.Accesses {
		resp.Access = resp.Access || a.Access
	}
	return resp, nil
}

// entitlements reads a customer's entitlements through the cache when there is one.
func (h Handlers) entitlements(ctx context.Context, companyID, customerNo int64) ([]Entitlement, error) {
	if h.Cache != nil {
		return h.Cache.Entitlements(ctx, companyID, customerNo)
	}
	return loadEntitlements(ctx, h.DB, companyID, customerNo)
}

func noAccess(q accessQuery, hasUser bool) AccessResponse {
	resp := AccessResponse{Accesses: []AccessEntry{}}
	if hasUser {
		resp.Accesses = append(resp.Accesses, AccessEntry{AccessLevel: "A", AccessType: "D"}, AccessEntry{AccessLevel: "B", AccessType: "D"})
	}
	if q.netLevel {
		resp.Accesses = append(resp.Accesses, AccessEntry{AccessLevel: "C", AccessType: "D"})
	}
	return resp
}

// customerEmailDomain is the domain of the customer's e-mail address.
func (h Handlers) customerEmailDomain(ctx context.Context, companyID, customerNo int64) (string, error) {
	var email string
	err := h.DB.QueryRowContext(ctx, `SELECT email FROM customers WHERE company_id = $1 AND customer_number = $2`, companyID, customerNo).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if _, d, ok := strings.Cut(email, "@"); ok {
		return strings.ToLower(d), nil
	}
	return "", store.Translate(err)
}

// credentialMatches reports whether credential (e-mail or phone) is the customer's.
func (h Handlers) credentialMatches(ctx context.Context, companyID, customerNo int64, credential string) (bool, error) {
	var n int
	err := h.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM customers WHERE company_id = $1 AND customer_number = $2
		AND (LOWER(email) = $3 OR phone = $3)`, companyID, customerNo, strings.ToLower(strings.TrimSpace(credential))).Scan(&n)
	return n > 0, store.Translate(err)
}

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

// AccessCheck serves POST /capi/v1/customer/access (access-check): the
// token's user; identity fields sent must be that user's, else no access.
func (h Handlers) AccessCheck() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		ctx := h.ctx(r)
		p := auth.FromContext(ctx)
		var body AccessRequest
		if err := httpx.Decode(r, &body); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		q, err := parseAccess(&body)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		cno, err := customer.NumberFor(ctx, h.DB, p)
		if errs.Is(err, errs.NotFound) {
			cno, err = 0, nil // no linked customer: no level-A grants
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if (body.UniqueID != "" && !strings.EqualFold(body.UniqueID, p.UserID)) ||
			(body.CustomerNumber != 0 && body.CustomerNumber != cno) {
			httpx.Reply(w, r, http.StatusOK, noAccess(q, true))
			return
		}
		if body.Credential != "" {
			ok, err := h.credentialOf(ctx, p.CompanyID, p.UserNumber, cno, body.Credential)
			if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			if !ok {
				httpx.Reply(w, r, http.StatusOK, noAccess(q, true))
				return
			}
		}
		var domain string
		if body.AccessDomain && cno != 0 {
			if domain, err = h.customerEmailDomain(ctx, p.CompanyID, cno); err != nil {
				httpx.Fail(w, r, err)
				return
			}
		}
		resp, err := h.evaluate(ctx, p.CompanyID, q, cno, true, domain)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, resp)
	})
}

// credentialOf reports whether credential names the user (userNumber) with customer cno.
func (h Handlers) credentialOf(ctx context.Context, companyID, userNumber, cno int64, credential string) (bool, error) {
	if h.ResolveUser != nil {
		u, ok, err := h.ResolveUser(ctx, "", credential)
		if err != nil || ok {
			return ok && u == userNumber, err
		}
	}
	if cno == 0 {
		return false, nil
	}
	return h.credentialMatches(ctx, companyID, cno, credential)
}

// AccessCheckClient serves POST /capi/v1/client/access (access-check-client).
func (h Handlers) AccessCheckClient() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		ctx := h.ctx(r)
		p := auth.FromContext(ctx)
		var body AccessRequest
		if err := httpx.Decode(r, &body); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		q, err := parseAccess(&body)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		named := body.UniqueID != "" || body.Credential != ""
		ipOnly := body.IP != "" && body.Domain == "" && !body.AccessDomain
		if !named && !ipOnly {
			httpx.Fail(w, r, errs.Field("uniqueId", "uniqueId or credential is required, except for a check by ip"))
			return
		}
		if !named {
			resp, err := h.evaluate(ctx, p.CompanyID, q, 0, false, "")
			if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			httpx.Reply(w, r, http.StatusOK, resp)
			return
		}
		cno, found, err := h.resolveCustomer(ctx, p.CompanyID, body)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if !found {
			httpx.Reply(w, r, http.StatusOK, noAccess(q, true))
			return
		}
		var domain string
		if body.AccessDomain {
			if domain, err = h.customerEmailDomain(ctx, p.CompanyID, cno); err != nil {
				httpx.Fail(w, r, err)
				return
			}
		}
		resp, err := h.evaluate(ctx, p.CompanyID, q, cno, true, domain)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.Reply(w, r, http.StatusOK, resp)
	})
}

// resolveCustomer finds the customer named in a client-mode check; every
// identity field sent must agree. A uniqueId must name a ConnectID user; a
// credential names a user, or else a customer with that e-mail or phone
// (clients register customers who have no account).
func (h Handlers) resolveCustomer(ctx context.Context, companyID int64, b AccessRequest) (int64, bool, error) {
	var cno int64
	user, isUser := int64(0), false
	if h.ResolveUser != nil {
		var err error
		if user, isUser, err = h.ResolveUser(ctx, b.UniqueID, b.Credential); err != nil {
			return 0, false, err
		}
	}
	var err error
	switch {
	case isUser:
		err = h.DB.QueryRowContext(ctx, `SELECT customer_number FROM customers WHERE company_id = $1 AND user_id = $2`, companyID, user).Scan(&cno)
	case b.UniqueID != "" || b.Credential == "":
		return 0, false, nil
	default:
		c := strings.ToLower(strings.TrimSpace(b.Credential))
		err = h.DB.QueryRowContext(ctx, `SELECT customer_number FROM customers WHERE company_id = $1 AND (LOWER(email) = $2 OR phone = $2)
			ORDER BY customer_number LIMIT 1`, companyID, c).Scan(&cno)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, store.Translate(err)
	}
	if b.CustomerNumber != 0 && b.CustomerNumber != cno {
		return 0, false, nil
	}
	return cno, true, nil
}

func parseInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v > 0
}
