package recruitment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/order"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/value"
)

// Limits of Register recruitment.
const (
	MaxClientRecruitments = 50
	MaxUserRecruitments   = 10
	MaxQuantity           = 99
)

// Person is a recruiter or recruited person: the payer shape of Register
// order, plus the recruited person's subscription start.
type Person struct {
	customer.Input
	StartDate value.Instant `json:"startDate"`
}

// Preference is one premium preference.
type Preference struct {
	PremiumCode string `json:"premiumCode"`
	Quantity    *int   `json:"quantity"`
}

// RegisterRequest is the body of Register recruitment (both modes).
type RegisterRequest struct {
	Product      string        `json:"product"`
	Campaign     string        `json:"campaign"`
	Recruiter    *Person       `json:"recruiter"`
	Recruitments []Person      `json:"recruitments"`
	Preferences  *[]Preference `json:"recruitmentPremiumPreferences"`
}

// Name is the part of a recruited person the recruiter sees.
type Name struct {
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// Entry is one recruitment as the recruiter sees it.
type Entry struct {
	RecruitmentID int64  `json:"recruitmentId"`
	Created       int64  `json:"created"`
	Product       string `json:"product"`
	Name          Name   `json:"name"`
	Status        string `json:"status"`
	RejectReason  string `json:"rejectReason,omitempty"`
	Points        int64  `json:"points"`
	OrderID       *int64 `json:"orderId,omitempty"`
}

// RegisterResult is the response of Register recruitment.
type RegisterResult struct {
	Status                  string  `json:"status"`
	RecruiterCustomerNumber int64   `json:"recruiterCustomerNumber"`
	Recruitments            []Entry `json:"recruitments"`
}

// Caller is who registers: a client, or a user (whose customer recruits).
type Caller struct {
	CompanyID   int64
	CompanyCode string
	ClientID    string
	UserMode    bool
	UserNumber  int64
	CustomerNo  int64 // the token's customer; 0: look it up
}

func checkCode(field, v string) error {
	if v == "" {
		return errs.Field(field, "required")
	}
	if utf8.RuneCountInString(v) > 12 {
		return errs.Field(field, "at most 12 characters")
	}
	return nil
}

// validatePreferences checks a preference list and fills default quantities.
func validatePreferences(prefs []Preference, c *campaign) error {
	seen := map[string]bool{}
	for i := range prefs {
		p := &prefs[i]
		f := fmt.Sprintf("recruitmentPremiumPreferences[%d]", i)
		if err := checkCode(f+".premiumCode", p.PremiumCode); err != nil {
			return err
		}
		if seen[p.PremiumCode] {
			return errs.Field(f+".premiumCode", "premium %s is listed twice", p.PremiumCode)
		}
		seen[p.PremiumCode] = true
		if p.Quantity == nil {
			one := 1
			p.Quantity = &one
		} else if *p.Quantity < 1 || *p.Quantity > MaxQuantity {
			return errs.Field(f+".quantity", "must be from 1 to %d", MaxQuantity)
		}
		if c != nil && c.premium(p.PremiumCode) == nil {
			return errs.Field(f+".premiumCode", "campaign %s has no premium %s", c.Code, p.PremiumCode)
		}
	}
	return nil
}

func (r *RegisterRequest) validate(c Caller) error {
	if err := checkCode("product", r.Product); err != nil {
		return err
	}
	if err := checkCode("campaign", r.Campaign); err != nil {
		return err
	}
	limit := MaxClientRecruitments
	if c.UserMode {
		if r.Recruiter != nil {
			return errs.Field("recruiter", "not allowed in user mode: the logged-in customer is the recruiter")
		}
		limit = MaxUserRecruitments
	} else if r.Recruiter == nil {
		return errs.Field("recruiter", "required")
	}
	if len(r.Recruitments) == 0 {
		return errs.Field("recruitments", "at least one recruited person is required")
	}
	if len(r.Recruitments) > limit {
		return errs.Field("recruitments", "at most %d recruited people", limit)
	}
	for i, p := range r.Recruitments {
		if p.CustomerNumber == nil && len(p.Emails) == 0 && len(p.PhoneNumbers) == 0 {
			return errs.Field(fmt.Sprintf("recruitments[%d].emails", i), "emails or phoneNumbers are required")
		}
	}
	if r.Preferences != nil {
		return validatePreferences(*r.Preferences, nil)
	}
	return nil
}

// Register processes Register recruitment in one transaction: the recruiter
// (found or created), each recruited person stored as registered with an
// order completed at once, or as rejected, and the premium preferences.
func Register(ctx context.Context, db *store.DB, d order.Deps, c Caller, req *RegisterRequest, now time.Time) (RegisterResult, error) {
	if err := req.validate(c); err != nil {
		return RegisterResult{}, err
	}
	var res RegisterResult
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		day, loc, err := today(ctx, tx, c.CompanyID, now)
		if err != nil {
			return err
		}
		camp, err := loadCampaign(ctx, tx, c.CompanyID, req.Campaign)
		if errs.Is(err, errs.NotFound) {
			return errs.Field("campaign", "unknown campaign %s", req.Campaign)
		}
		if err != nil {
			return err
		}
		if !camp.activeOn(day) {
			return errs.Field("campaign", "campaign %s is not active today", camp.Code)
		}
		offer := camp.offer(req.Product)
		if offer == nil {
			return errs.Field("product", "campaign %s does not recruit for product %s", camp.Code, req.Product)
		}
		if req.Preferences != nil {
			if err := validatePreferences(*req.Preferences, camp); err != nil {
				return err
			}
		}
		recruiter, err := resolveRecruiter(ctx, tx, c, req.Recruiter, now)
		if err != nil {
			return err
		}
		res = RegisterResult{Status: "ok", RecruiterCustomerNumber: recruiter.number, Recruitments: []Entry{}}
		for i := range req.Recruitments {
			e, err := recruitOne(ctx, tx, db.Dialect, d, c, camp, offer, recruiter, &req.Recruitments[i], i, day, loc, now)
			if err != nil {
				return err
			}
			res.Recruitments = append(res.Recruitments, e)
		}
		if req.Preferences != nil {
			return storePreferences(ctx, tx, camp.ID, recruiter.number, *req.Preferences)
		}
		return nil
	})
	return res, err
}

// resolveRecruiter finds the recruiter: the user's customer, the given
// customer number, or a new customer.
func resolveRecruiter(ctx context.Context, tx *sql.Tx, c Caller, in *Person, now time.Time) (person, error) {
	if c.UserMode {
		n, err := userCustomer(ctx, tx, c)
		if err != nil {
			return person{}, err
		}
		if n == 0 {
			return person{}, errs.E(errs.NotFound, "no customer linked to user")
		}
		return customerPerson(ctx, tx, c.CompanyID, n)
	}
	if in.CustomerNumber != nil {
		return customerPerson(ctx, tx, c.CompanyID, *in.CustomerNumber)
	}
	n, err := customer.Create(ctx, tx, customer.NewCustomer{CompanyID: c.CompanyID, CompanyCode: c.CompanyCode,
		Prefix: "recruiter.", Required: customer.RequirePayer, Now: now}, &in.Input)
	if err != nil {
		return person{}, err
	}
	return customerPerson(ctx, tx, c.CompanyID, n)
}

// userCustomer is the user's customer at the company, 0 when none.
func userCustomer(ctx context.Context, q store.Queryer, c Caller) (int64, error) {
	if c.CustomerNo != 0 {
		return c.CustomerNo, nil
	}
	return customer.NumberOfUser(ctx, q, c.CompanyID, c.UserNumber)
}

// recruitOne checks and stores one recruited person; an eligible one gets a
// customer record (when new) and an invoice order for the campaign's coupon,
// completed at once.
func recruitOne(ctx context.Context, tx *sql.Tx, dialect store.Dialect, d order.Deps, c Caller, camp *campaign, offer *Offer,
	recruiter person, in *Person, i int, day string, loc *time.Location, now time.Time) (Entry, error) {
	prefix := fmt.Sprintf("recruitments[%d].", i)
	start := day
	if !in.StartDate.IsZero() {
		start = in.StartDate.Time(loc).In(loc).Format(time.DateOnly)
		if start < day {
			return Entry{}, errs.Field(prefix+"startDate", "must not be in the past")
		}
	}
	var p person
	if in.CustomerNumber != nil {
		var err error
		if p, err = customerPerson(ctx, tx, c.CompanyID, *in.CustomerNumber); err != nil {
			return Entry{}, err
		}
	} else {
		p = person{firstName: deref(in.FirstName), lastName: deref(in.LastName), contacts: normContacts(in.Emails, in.PhoneNumbers)}
	}
	reason, err := rejectReason(ctx, tx, c.CompanyID, camp, offer.Product, recruiter, p, now)
	if err != nil {
		return Entry{}, err
	}
	var orderID int64
	if reason == "" {
		if p.number == 0 {
			if p.number, err = customer.Create(ctx, tx, customer.NewCustomer{CompanyID: c.CompanyID, CompanyCode: c.CompanyCode,
				Prefix: prefix, Required: customer.RequirePayer, Now: now}, &in.Input); err != nil {
				return Entry{}, err
			}
		}
		startAt, _ := time.ParseInLocation(time.DateOnly, start, loc)
		no := offer.CouponNumber
		req := &order.RegisterRequest{PaymentMethod: "invoice", Payer: &customer.Input{CustomerNumber: &p.number},
			OrderLines: []order.LineRequest{{ProductSpecType: "coupon", ProductSpecCode: offer.CouponCode, ProductSpecNo: &no,
				Product: offer.Product, StartInfo: &order.StartInfo{StartDate: value.InstantOf(startAt)},
				Recruiter: &customer.Input{CustomerNumber: &recruiter.number}}}}
		oc := order.Caller{CompanyID: c.CompanyID, CompanyCode: c.CompanyCode, ClientID: c.ClientID}
		r, err := order.RegisterInTx(ctx, tx, dialect, d, oc, req, now)
		if err != nil {
			return Entry{}, orderError(err, prefix)
		}
		if err := order.CompleteInTx(ctx, tx, d, c.CompanyID, r.OrderID, now); err != nil {
			return Entry{}, err
		}
		orderID = r.OrderID
	}
	id, err := insert(ctx, tx, c.CompanyID, camp, offer.Product, recruiter.number, p, reason, orderID, now)
	if err != nil {
		return Entry{}, err
	}
	e, err := entry(ctx, tx, c.CompanyID, id)
	return e, err
}

// orderError names a recruited person's field in an order validation error
// (the order is built from the person, so its problems are theirs).
func orderError(err error, prefix string) error {
	var e *errs.Error
	if !errors.As(err, &e) || e.Field == "" {
		return err
	}
	f := e.Field
	for _, p := range []string{"orderLines[0].startInfo.", "orderLines[0].", "payer."} {
		if strings.HasPrefix(f, p) {
			f = strings.TrimPrefix(f, p)
			break
		}
	}
	return &errs.Error{Kind: e.Kind, Field: prefix + f, Message: e.Message, Err: e.Err}
}

// Hook makes an order line sent with a recruiter a recruitment in the
// active campaign offering its product (the latest-starting if several; none:
// no recruitment), under Register's eligibility checks (order.Deps.Recruitments).
// The recruitment follows the order's status from then on.
func Hook(ctx context.Context, tx *sql.Tx, l order.RecruiterLine) error {
	day, _, err := today(ctx, tx, l.CompanyID, l.Now)
	if err != nil {
		return err
	}
	var code string
	err = tx.QueryRowContext(ctx, `SELECT c.code FROM recruitment_campaigns c JOIN recruitment_offers o ON o.campaign_id = c.id
		WHERE c.company_id = $1 AND o.product_code = $2 AND c.start_date <= $3 AND (c.end_date IS NULL OR c.end_date >= $3)
		ORDER BY c.start_date DESC, c.code LIMIT 1`, l.CompanyID, l.Product, day).Scan(&code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return store.Translate(err)
	}
	camp, err := loadCampaign(ctx, tx, l.CompanyID, code)
	if err != nil {
		return err
	}
	recruiter, err := customerPerson(ctx, tx, l.CompanyID, l.Recruiter)
	if err != nil {
		return err
	}
	p, err := customerPerson(ctx, tx, l.CompanyID, l.Recruited)
	if err != nil {
		return err
	}
	reason, err := rejectReason(ctx, tx, l.CompanyID, camp, l.Product, recruiter, p, l.Now)
	if err != nil {
		return err
	}
	_, err = insert(ctx, tx, l.CompanyID, camp, l.Product, recruiter.number, p, reason, l.OrderID, l.Now)
	return err
}

func storePreferences(ctx context.Context, tx *sql.Tx, campaignID, customerNumber int64, prefs []Preference) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recruitment_preferences WHERE campaign_id = $1 AND customer_number = $2`,
		campaignID, customerNumber); err != nil {
		return store.Translate(err)
	}
	for i, p := range prefs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recruitment_preferences (campaign_id, customer_number, position, premium_code, quantity)
			VALUES ($1, $2, $3, $4, $5)`, campaignID, customerNumber, i, p.PremiumCode, *p.Quantity); err != nil {
			return store.Translate(err)
		}
	}
	return nil
}
